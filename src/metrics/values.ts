/**
 * Turns one collection into the samples of every collected (non-histogram) metric. Both the
 * prom-client collectors and the OpenTelemetry observable callback read their values through
 * {@link observe}, so `/metrics` and OpenTelemetry report the same figures.
 *
 * @packageDocumentation
 */
import type { MetricDefinition } from './catalog.js';
import type { CollectionSnapshot } from './collector.js';
import { LABEL } from './names.js';

/** One sample: label values and a value. */
export interface Observation {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** What a collection yields: the snapshot plus the collector's running error count. */
export interface CollectedState {
  readonly snapshot: CollectionSnapshot;
  readonly errors: number;
}

/** The samples of `metric` in `state`; empty for histograms (they are recorded, not collected). */
export function observe(metric: MetricDefinition, state: CollectedState): Observation[] {
  const { snapshot } = state;
  const out: Observation[] = [];
  if (metric.eventType !== undefined) {
    for (const q of snapshot.queues) out.push({ labels: { [LABEL.queue]: q.queue }, value: q.events[metric.eventType] });
    return out;
  }
  switch (metric.key) {
    case 'eventsAppended':
      for (const q of snapshot.queues) {
        for (const [type, value] of Object.entries(q.events)) out.push({ labels: { [LABEL.queue]: q.queue, [LABEL.type]: type }, value });
      }
      break;
    case 'queueJobs':
      for (const q of snapshot.queues) {
        for (const [state, value] of Object.entries(q.states)) out.push({ labels: { [LABEL.queue]: q.queue, [LABEL.state]: state }, value });
      }
      break;
    case 'queuePaused':
      for (const q of snapshot.queues) out.push({ labels: { [LABEL.queue]: q.queue }, value: q.paused ? 1 : 0 });
      break;
    case 'laneLag':
    case 'lanePending':
      for (const q of snapshot.queues) {
        for (const lane of q.lanes) {
          out.push({
            labels: { [LABEL.queue]: q.queue, [LABEL.lane]: String(lane.lane) },
            value: metric.key === 'laneLag' ? lane.lag : lane.pending,
          });
        }
      }
      break;
    case 'eventLogEntries':
      for (const q of snapshot.queues) out.push({ labels: { [LABEL.queue]: q.queue }, value: q.eventLogEntries });
      break;
    case 'archiveLag':
      for (const q of snapshot.queues) out.push({ labels: { [LABEL.queue]: q.queue }, value: Math.max(0, q.eventsAdded - q.archivedEvents) });
      break;
    case 'workersLive':
      for (const q of snapshot.queues) out.push({ labels: { [LABEL.queue]: q.queue }, value: q.workersLive });
      break;
    case 'queueOldestWaitingAge':
      for (const q of snapshot.queues) out.push({ labels: { [LABEL.queue]: q.queue }, value: q.oldestWaitingAgeSeconds });
      break;
    case 'collectDuration':
      out.push({ labels: {}, value: snapshot.durationSeconds });
      break;
    case 'collectErrors':
      out.push({ labels: {}, value: state.errors });
      break;
    case 'queuesOmitted':
      out.push({ labels: {}, value: snapshot.omitted });
      break;
    default:
      break;
  }
  return out;
}
