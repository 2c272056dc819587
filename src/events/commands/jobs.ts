/**
 * Scripts that change one job on request: cancel.lua, retry.lua, promoteJob.lua,
 * reprioritize.lua, remove.lua, and the flow scripts registerDependant.lua and
 * resolveDependency.lua.
 */
import type { ScriptTime } from '../../core/clock.js';
import type { JobState, QueueName } from '../../core/keys.js';
import type { RedisClient } from '../../redis/connection.js';
import { runScript } from '../scripts.js';
import { array, badReply, integer, jobState, oneOf } from './reply.js';

/** cancel.lua: cancels a waiting, delayed, blocked or active job; returns the state it left. */
export async function cancelJob(redis: RedisClient, queue: QueueName, now: ScriptTime, jobId: string, reason: string): Promise<JobState> {
  return jobState('cancel', await runScript(redis, 'cancel', queue, now, [jobId, reason]));
}

/** retry.lua: puts a failed, dead or cancelled job back in its lane; returns the state it left. `by`: who asked, or ''. */
export async function retryJob(redis: RedisClient, queue: QueueName, now: ScriptTime, jobId: string, by: string): Promise<JobState> {
  return jobState('retry', await runScript(redis, 'retry', queue, now, [jobId, by]));
}

/** promoteJob.lua: promotes a delayed job to its lane now; returns the state it left (`delayed`). */
export async function promoteJob(redis: RedisClient, queue: QueueName, now: ScriptTime, jobId: string): Promise<JobState> {
  return jobState('promoteJob', await runScript(redis, 'promoteJob', queue, now, [jobId]));
}

/** What {@link reprioritizeJob} did: the job's state and its lane before and after. */
export interface Reprioritized {
  state: JobState;
  from: number;
  to: number;
}

/** reprioritize.lua: moves a job that has not started to lane `priority` (0..4, checked by the caller). */
export async function reprioritizeJob(redis: RedisClient, queue: QueueName, now: ScriptTime, jobId: string, priority: number): Promise<Reprioritized> {
  const reply = array('reprioritize', await runScript(redis, 'reprioritize', queue, now, [jobId, priority]));
  if (reply.length !== 3) throw badReply('reprioritize', '{ state, from, to }', reply);
  return { state: jobState('reprioritize', reply[0]), from: integer('reprioritize', reply[1]), to: integer('reprioritize', reply[2]) };
}

/** remove.lua: removes a job that is not active from the read models; returns the state it left. */
export async function removeJob(redis: RedisClient, queue: QueueName, now: ScriptTime, jobId: string, reason: 'manual' | 'retention'): Promise<JobState> {
  return jobState('remove', await runScript(redis, 'remove', queue, now, [jobId, reason]));
}

/** A prerequisite's outcome as registerDependant.lua answers it. */
export type DependencyOutcome = 'completed' | 'dead' | 'cancelled' | 'pending';

/**
 * registerDependant.lua: registers dependant `dependantRef` (`<queue>|<jobId>`) on job `jobId` of
 * `queue`; returns the outcome already sent to it, or `pending`.
 */
export async function registerDependant(redis: RedisClient, queue: QueueName, now: ScriptTime, jobId: string, dependantRef: string): Promise<DependencyOutcome> {
  return oneOf('registerDependant', await runScript(redis, 'registerDependant', queue, now, [jobId, dependantRef]), ['completed', 'dead', 'cancelled', 'pending'] as const);
}

/**
 * resolveDependency.lua: records that prerequisite `fromRef` (`<queue>|<jobId>`) of job `jobId`
 * reached `outcome`; `true` when that changed the dependant.
 */
export async function resolveDependency(redis: RedisClient, queue: QueueName, now: ScriptTime, jobId: string, fromRef: string, outcome: string): Promise<boolean> {
  return integer('resolveDependency', await runScript(redis, 'resolveDependency', queue, now, [jobId, fromRef, outcome])) === 1;
}
