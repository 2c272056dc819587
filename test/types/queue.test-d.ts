/**
 * Type tests (checked by `npm run typecheck`): a typed Queue only publishes its own payload type
 * under its own job names, reads back its Data and Result types, and Queue and Worker are
 * `AsyncDisposable` (`await using`).
 */
import { expectTypeOf } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { Queue } from '../../src/queue/queue.js';
import type { Job } from '../../src/projections/job.js';

interface Email {
  to: string;
  subject: string;
}

declare const emails: Queue<Email, { messageId: string }, 'send' | 'resend'>;
declare const job: Job;

void emails.publish('send', { to: 'a@example.com', subject: 'hi' });
void emails.publishMany([{ name: 'resend', payload: { to: 'b@example.com', subject: 'again' } }]);
type PublishName = Parameters<typeof emails.publish>[0];
type PublishPayload = Parameters<typeof emails.publish>[1];
type BatchJob = Parameters<typeof emails.publishMany>[0][number];
// A payload that is not an Email, or a job name the queue does not accept, does not compile.
expectTypeOf<{ to: string }>().not.toExtend<PublishPayload>();
expectTypeOf<'delete'>().not.toExtend<PublishName>();
expectTypeOf<string>().not.toExtend<PublishName>();
expectTypeOf<{ name: 'send'; payload: { subject: string } }>().not.toExtend<BatchJob>();
expectTypeOf<{ name: 'other'; payload: Email }>().not.toExtend<BatchJob>();
expectTypeOf<{ name: 'send'; payload: Email }>().toExtend<BatchJob>();

expectTypeOf(emails.getPayload(job)).resolves.toEqualTypeOf<Email | undefined>();
expectTypeOf(emails.getResult(job)).resolves.toEqualTypeOf<{ messageId: string } | undefined>();

// Untyped queues accept anything, as before.
declare const any: Queue;
void any.publish('whatever', { free: 'form' });
void any.publish<number>('n', 1);

expectTypeOf<Queue>().toExtend<AsyncDisposable>();
expectTypeOf<Worker>().toExtend<AsyncDisposable>();

export async function scoped(): Promise<void> {
  await using queue = new Queue<Email, void, 'send'>('mail', { connection: 'redis://127.0.0.1:6379' });
  expectTypeOf(queue.name).toExtend<string>();
}
