/**
 * A minimal `/metrics` HTTP endpoint on node:http, for worker processes and embedders that have
 * no HTTP server of their own. The Sluice HTTP service mounts the same registry on its own
 * route instead.
 *
 * @packageDocumentation
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { defaultMetrics } from './sluice-metrics.js';

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /**
   * TCP port; 0 picks a free one (read it back from {@link MetricsServer.port}).
   * @default 9464
   */
  port?: number;
  /**
   * Interface to listen on; use `0.0.0.0` to be scraped from other hosts.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Registry to serve.
   * @default defaultMetrics().registry (prom-client's global registry)
   */
  registry?: Registry;
  /**
   * Path of the endpoint.
   * @default '/metrics'
   */
  path?: string;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The port it listens on. */
  readonly port: number;
  /** `http://<host>:<port><path>` */
  readonly url: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** Serves `registry` in the Prometheus text format at `GET <path>`. */
export async function startMetricsServer(options: MetricsServerOptions = {}): Promise<MetricsServer> {
  const registry = options.registry ?? defaultMetrics().registry;
  const path = options.path ?? '/metrics';
  const host = options.host ?? '127.0.0.1';
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== path) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    registry.metrics().then(
      (body) => {
        response.writeHead(200, { 'content-type': registry.contentType });
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`metrics collection failed: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9464, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
