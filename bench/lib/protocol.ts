/**
 * Messages between the benchmark runner and its worker agents (child processes, Node IPC).
 */
import type { CommandCount } from './command-counter.js';
import type { SystemName } from './systems.js';

/** Starts a consumer in the agent. */
export interface StartRequest {
  type: 'start';
  system: SystemName;
  redisUrl: string;
  queue: string;
  concurrency: number;
  /** MongoDB URL and database, for `sluice-mongo`. */
  mongoUrl?: string;
  mongoDatabase?: string;
  /** Keep (jobId, completion time) of every job, for latency. */
  record: boolean;
  /**
   * Run V8's CPU profiler (the one behind `--cpu-prof`) from start to stop and write the
   * `.cpuprofile` here: start-up and warm-up stay out of the profile.
   */
  profilePath?: string;
}

/** Runner → agent. */
export type AgentRequest = StartRequest | { type: 'stop' } | { type: 'exit' };

/** Agent → runner. */
export type AgentReply =
  | { type: 'ready' }
  /** Jobs completed so far and when the latest one completed (ms, see clock.ts). */
  | { type: 'progress'; count: number; last: number }
  | {
      type: 'stopped';
      count: number;
      last: number;
      /** CPU time the agent used between start and stop, in microseconds. */
      cpuUs: number;
      /** Commands and writes the agent sent between start and stop. */
      sent: CommandCount;
      completions?: [string, number][];
    }
  | { type: 'failed'; message: string };
