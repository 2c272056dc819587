/**
 * Event routes: replay of a queue's history as NDJSON (archive, then stream, by time range) and
 * the live event feed as Server-Sent Events.
 *
 * The live feed follows the queue's event stream (`XREAD BLOCK` on a connection of its own per
 * client, so their number is capped). Each SSE message is one event: `id:` is its stream id, so
 * a client that reconnects with `Last-Event-ID` resumes without a gap or a duplicate; `event:` is
 * its type; `data:` is the event as JSON. A comment line every 15 s keeps proxies from closing an
 * idle feed. A client that does not read is dropped once 8 MiB are buffered for it.
 *
 * @packageDocumentation
 */
import { Readable } from 'node:stream';
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginCallback } from 'fastify';
import type { Subscription } from 'rxjs';
import { replayBatches, type ReplayQuery as LibraryReplayQuery } from '../../history/replay.js';
import { SluiceError, ValidationError } from '../../core/errors.js';
import { RedisEventLog } from '../../events/log.js';
import type { StoredJobEvent } from '../../events/types.js';
import { parseTime, parseTypes } from '../../history/filters.js';
import type { SluiceContext } from '../../app/context.js';
import { errorResponse, toSluiceError } from '../http-errors.js';
import { route } from '../route.js';
import { LiveQuery, QueueParams, ReplayQuery } from '../schemas.js';

const HEARTBEAT_MS = 15_000;
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const streamIdPattern = /^\d{1,20}-\d{1,20}$/;

/** The library replay query of a request. */
export function toReplayQuery(query: Static<typeof ReplayQuery>): LibraryReplayQuery {
  const types = parseTypes(query.types);
  return {
    ...(query.after === undefined ? {} : { after: query.after }),
    ...(query.from === undefined ? {} : { from: parseTime(query.from, 'from') }),
    ...(query.to === undefined ? {} : { to: streamIdPattern.test(query.to) ? query.to : parseTime(query.to, 'to') }),
    ...(query.jobId === undefined ? {} : { jobId: query.jobId }),
    ...(types === undefined ? {} : { types }),
  };
}

/** The event routes (closing the app ends every open live feed); register with the prefix `/v1/queues/:queue`. */
export const eventRoutes: FastifyPluginCallback<{ context: SluiceContext }> = (app, { context }, done) => {
  type Params = { Params: Static<typeof QueueParams> };
  const live = new Set<() => void>();
  // preClose, not onClose: the server waits for open connections before onClose hooks run, and
  // a live feed stays open until it is ended.
  app.addHook('preClose', (done) => {
    for (const end of [...live]) end();
    done();
  });

  app.get<Params & { Querystring: Static<typeof ReplayQuery> }>(
    '/replay',
    route({
      scope: 'consume',
      tag: 'events',
      summary: "Replay the queue's events as NDJSON (one event per line), from the archive then the live stream, by time range",
      params: QueueParams,
      querystring: ReplayQuery,
    }),
    async (request, reply) => {
      const batches = replayBatches(context.replaySource(request.params.queue), toReplayQuery(request.query));
      // The first batch is read before answering, so a bad query or an unreachable store is
      // still a proper error response rather than a truncated 200.
      const first = await batches.next();
      async function* lines(): AsyncGenerator<string> {
        let next = first;
        while (!next.done) {
          yield next.value.map((event) => `${JSON.stringify(event)}\n`).join('');
          next = await batches.next();
        }
      }
      void reply.type('application/x-ndjson; charset=utf-8');
      return reply.send(Readable.from(lines()));
    },
  );

  app.get<Params & { Querystring: Static<typeof LiveQuery> }>(
    '/events',
    // A live feed may be opened before the queue's first publish: it waits for its events.
    route({
      scope: 'consume',
      tag: 'events',
      summary: 'Live event feed (Server-Sent Events): id = stream id (resume with Last-Event-ID), event = type, data = the event as JSON',
      params: QueueParams,
      querystring: LiveQuery,
      existingQueue: false,
    }),
    async (request, reply) => {
      const max = context.config.maxLiveStreams;
      if (live.size >= max) throw new SluiceError('SLUICE_ERR_OVERLOADED', `${max} live event feeds are open (SLUICE_MAX_LIVE_STREAMS); retry later`);
      const lastEventId = request.headers['last-event-id'];
      if (lastEventId !== undefined && (typeof lastEventId !== 'string' || !streamIdPattern.test(lastEventId))) {
        throw new ValidationError('Last-Event-ID', 'must be a stream id like 1700000000000-0');
      }
      const types = parseTypes(request.query.types);
      const typeSet = types === undefined ? undefined : new Set<string>(types);
      const jobId = request.query.jobId;
      const after = lastEventId ?? request.query.after ?? '$';
      const log = new RedisEventLog(context.redis, request.params.queue);

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let ended = false;
      const write = (text: string): void => {
        if (ended) return;
        raw.write(text);
        if (raw.writableLength > MAX_BUFFERED_BYTES) end(': dropped: the client does not read fast enough\n\n');
      };
      const send = (event: StoredJobEvent): void => {
        if (jobId !== undefined && event.metadata.jobId !== jobId) return;
        if (typeSet && !typeSet.has(event.type)) return;
        write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      };
      // Set once the feed is running; `end` may run before (a synchronous tail error).
      const handles: { subscription?: Subscription; heartbeat?: NodeJS.Timeout } = {};
      function end(last?: string): void {
        if (ended) return;
        if (last) raw.write(last);
        ended = true;
        clearInterval(handles.heartbeat);
        handles.subscription?.unsubscribe();
        live.delete(end);
        raw.end();
      }
      live.add(end);
      raw.once('close', () => end());
      const subscription = log.tail$(after).subscribe({
        next: send,
        error: (error: unknown) => {
          const { body } = errorResponse(toSluiceError(error, 0));
          request.log.warn({ code: body.error.code }, 'live event feed failed');
          end(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
        },
        complete: () => end(),
      });
      handles.subscription = subscription;
      if (ended) {
        subscription.unsubscribe();
        return;
      }
      handles.heartbeat = setInterval(() => write(': ping\n\n'), HEARTBEAT_MS);
      // Tells the client the feed is live: events appended from now on will be delivered.
      write('retry: 2000\n: connected\n\n');
    },
  );
  done();
};
