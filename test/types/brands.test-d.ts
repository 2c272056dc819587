/**
 * Type tests (checked by `npm run typecheck`): branded names cannot be forged from plain
 * strings, and the event union narrows on `type`.
 */
import { expectTypeOf } from 'vitest';
import type { JobEvent, StoredJobEvent } from '../../src/events/types.js';
import { toJobId, toQueueName, type JobId, type QueueName } from '../../src/core/keys.js';
import type { Checkpoint } from '../../src/projections/subscriber.js';

expectTypeOf<string>().not.toExtend<QueueName>();
expectTypeOf<string>().not.toExtend<JobId>();
expectTypeOf<string>().not.toExtend<Checkpoint>();
expectTypeOf<QueueName>().not.toExtend<JobId>();
expectTypeOf(toQueueName('q')).toEqualTypeOf<QueueName>();
expectTypeOf(toJobId('a:b')).toEqualTypeOf<JobId>();
expectTypeOf<QueueName>().toExtend<string>();

declare const event: JobEvent;
if (event.type === 'claimed') expectTypeOf(event.data.token).toEqualTypeOf<string>();
if (event.type === 'failed') expectTypeOf(event.data.final).toEqualTypeOf<boolean>();
expectTypeOf<StoredJobEvent['id']>().toEqualTypeOf<string>();
