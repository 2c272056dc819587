/**
 * The event module: the job event vocabulary, its stream-entry codec, and the event log
 * (Redis Streams and in-memory) with id-range, time-range and live (Observable) reads.
 *
 * @packageDocumentation
 */
export * from './types.js';
export * from './codec.js';
export * from './log.js';
export * from './memory-log.js';
export {
  compareStreamIds,
  formatStreamId,
  isCompleteStreamId,
  parseStreamId,
  streamIdTime,
  type StreamIdParts,
} from '../redis/stream-id.js';
export type { StreamEntry } from '../redis/replies.js';
