/**
 * Serves the Sluice Console — the static files `npm run build` writes to `dist/ui` (Vite) — at
 * `/ui/`, and redirects `/` there. Files are read from disk on request (the console is small and
 * rarely loaded); hashed assets are cached for a year, `index.html` never. Any other path under
 * `/ui/` without a file extension answers `index.html`, so a reloaded deep link works. When the
 * console was not built, `/ui/` says so instead of failing.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginCallback, FastifyReply } from 'fastify';
import { HIDDEN_PUBLIC } from './route.js';

/** Where the built console lives: `<package root>/dist/ui` (this file is `src/server/` or `dist/server/`). */
export const CONSOLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'ui');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

// The console talks only to this origin and loads nothing from elsewhere.
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Sluice Console</title>
<p>The Sluice Console is not built. Run <code>npm run build</code> (it writes <code>dist/ui</code>) and reload.</p>`;

/** `/`, `/ui` and `/ui/*`; register without a prefix. `dir` overrides where the built files are read from. */
export const consoleStatic: FastifyPluginCallback<{ dir?: string }> = (app, { dir = CONSOLE_DIR }, done) => {
  const root = normalize(dir + sep);
  const send = async (reply: FastifyReply, file: string, immutable: boolean): Promise<boolean> => {
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return false;
    }
    void reply
      .header('content-type', TYPES[extname(file)] ?? 'application/octet-stream')
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', CSP)
      .header('referrer-policy', 'no-referrer');
    await reply.send(body);
    return true;
  };
  const index = async (reply: FastifyReply): Promise<FastifyReply> => {
    if (!(await send(reply, join(root, 'index.html'), false))) {
      return reply.code(503).header('content-type', 'text/html; charset=utf-8').send(NOT_BUILT);
    }
    return reply;
  };
  const hidden = HIDDEN_PUBLIC;

  app.get('/', hidden, (_request, reply) => reply.redirect('/ui/', 302));
  app.get('/ui', hidden, (_request, reply) => reply.redirect('/ui/', 301));
  app.get('/ui/', hidden, (_request, reply) => index(reply));
  app.get<{ Params: { '*': string } }>('/ui/*', hidden, async (request, reply) => {
    const rest = request.params['*'];
    const file = normalize(join(root, rest));
    if (!file.startsWith(root) || rest.includes('\0')) return reply.code(404).send({ error: { code: 'SLUICE_ERR_ROUTE_NOT_FOUND', message: 'no such file' } });
    if (extname(rest) === '') return index(reply);
    if (await send(reply, file, rest.startsWith('assets/'))) return reply;
    return reply.code(404).send({ error: { code: 'SLUICE_ERR_ROUTE_NOT_FOUND', message: `no console file ${rest}` } });
  });
  done();
};
