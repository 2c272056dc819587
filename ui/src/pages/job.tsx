// Job page: state and options, payload and result, progress, the timeline of every event of
// the job (archive and stream alike: GET …/history), and the actions its state allows.
import { useEffect, useState } from 'preact/hooks';
import { api, jpath, size, when, type Job, type JobEvent } from '../api';
import { Confirm, ErrorLine, JsonView, Notice, StateBadge } from '../components';
import { href, type Session } from '../nav';

type Data = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** One line of what an event says, beyond its type. */
function EventDetail({ event }: { event: JobEvent }) {
  const d = event.data as Data;
  switch (event.type) {
    case 'created':
      return <span>name {str(d.name)}, priority {str(d.priority)}, {str(d.maxAttempts)} attempt(s){d.runAt ? `, due ${when(d.runAt as number)}` : ''}</span>;
    case 'claimed': {
      const w = d.worker as Data | undefined;
      return <span>attempt {str(d.attempt)} by worker {str(w?.id)} ({str(w?.host)}, pid {str(w?.pid)})</span>;
    }
    case 'failed': {
      const e = d.error as { name: string; message: string; stack?: string } | undefined;
      return (
        <div class="failure">
          <span>
            attempt {str(d.attempt)}: <strong>{e?.name}</strong>: {e?.message}
            {d.final ? ' — final' : d.retryAt ? ` — retry at ${when(d.retryAt as number)}` : ''}
          </span>
          {e?.stack ? (
            <details>
              <summary>Stack</summary>
              <pre>{e.stack}</pre>
            </details>
          ) : null}
        </div>
      );
    }
    case 'timed-out':
      return <span>attempt {str(d.attempt)}{d.reason === 'released' ? ' released on shutdown' : ` lease expired (idle ${str(d.idleMs)} ms)`}{d.worker ? ` on worker ${str(d.worker)}` : ''}</span>;
    case 'completed':
      return <span>attempt {str(d.attempt)}{d.durationMs !== undefined ? ` in ${str(d.durationMs)} ms` : ''}{d.result ? `, result ${size((d.result as { size: number }).size)}` : ''}</span>;
    case 'scheduled':
      return <span>{str(d.reason)} until {when(d.runAt as number)}</span>;
    case 'promoted':
      return <span>to lane {str(d.lane)}{d.reason ? ` (${str(d.reason)})` : ''}</span>;
    case 'reprioritized':
      return <span>priority {str(d.from)} → {str(d.to)}</span>;
    case 'retried':
      return <span>from {str(d.fromState)}{d.by ? ` by ${str(d.by)}` : ''}</span>;
    case 'cancelled':
    case 'removed':
      return <span>from {str(d.fromState)}{d.reason ? `: ${str(d.reason)}` : ''}</span>;
    case 'dead-lettered':
      return <span>{str(d.reason)} after attempt {str(d.attempt)}</span>;
    case 'progress':
      return <span>attempt {str(d.attempt)}: {str(d.progress)}</span>;
    case 'lost':
      return <span>entry {str(d.entryId)}: {str(d.reason)}</span>;
    default:
      return <span>{JSON.stringify(d)}</span>;
  }
}

interface Action {
  label: string;
  path: string;
  method: 'POST' | 'DELETE';
  scope: 'admin' | 'publish';
  body?: unknown;
}

function actionsFor(job: Job, queue: string): Action[] {
  const out: Action[] = [];
  if (['failed', 'dead', 'cancelled'].includes(job.state)) out.push({ label: 'Retry', path: jpath(queue, job.id, '/retry'), method: 'POST', scope: 'admin' });
  if (job.state === 'delayed') out.push({ label: 'Promote now', path: jpath(queue, job.id, '/promote'), method: 'POST', scope: 'admin' });
  if (['waiting', 'delayed', 'active', 'blocked'].includes(job.state)) out.push({ label: 'Cancel', path: jpath(queue, job.id, '/cancel'), method: 'POST', scope: 'publish', body: { reason: 'cancelled from the console' } });
  if (job.state !== 'active') out.push({ label: 'Remove', path: jpath(queue, job.id), method: 'DELETE', scope: 'admin' });
  return out;
}

/** States whose priority can change (and not for a grouped job: its group dispatches it). */
const REPRIORITIZABLE = ['waiting', 'delayed', 'blocked'];

/** A lane picker and its button: POST …/jobs/{id}/priority. */
function PriorityControl({ job, queue, onDone, onError }: { job: Job; queue: string; onDone: (text: string) => void; onError: (err: unknown) => void }) {
  const [choice, setChoice] = useState<string | null>(null);
  const value = choice ?? String(job.priority);
  const change = async (): Promise<void> => {
    try {
      const r = await api<{ from: number; to: number }>('POST', jpath(queue, job.id, '/priority'), { priority: Number(value) });
      setChoice(null);
      onDone(r.from === r.to ? `Priority: already ${r.to}.` : `Priority: ${r.from} → ${r.to}.`);
    } catch (err) {
      onError(err);
    }
  };
  return (
    <span class="priority-control">
      <label>
        Priority{' '}
        <select value={value} onChange={(e) => setChoice(e.currentTarget.value)}>
          {[4, 3, 2, 1, 0].map((n) => (
            <option value={String(n)}>
              {n}
              {n === 4 ? ' (highest)' : n === 0 ? ' (lowest)' : ''}
            </option>
          ))}
        </select>
      </label>{' '}
      <button type="button" disabled={value === String(job.priority)} onClick={() => void change()}>
        Change priority
      </button>
    </span>
  );
}

export function JobPage({ session, queue, id }: { session: Session; queue: string; id: string }) {
  const [job, setJob] = useState<Job | null>(null);
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState<Action | null>(null);
  const [notice, setNotice] = useState('');

  const load = async (): Promise<void> => {
    try {
      const [history, current] = await Promise.all([
        api<{ events: JobEvent[] }>('GET', jpath(queue, id, '/history')),
        api<Job>('GET', jpath(queue, id, '?include=payload,result')).catch((err: unknown) => {
          // Removed from the read models: its history is still there.
          if ((err as { status?: number }).status === 404) return null;
          throw err;
        }),
      ]);
      setEvents(history.events);
      setJob(current);
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 2000);
    return () => clearInterval(timer);
  }, [queue, id]);

  const run = async (action: Action): Promise<void> => {
    setPending(null);
    try {
      const r = await api<{ fromState: string }>(action.method, action.path, action.body);
      setNotice(`${action.label}: done (was ${r.fromState}).`);
      await load();
    } catch (err) {
      setError(err);
    }
  };

  const attempts = events.filter((e) => e.type === 'claimed').length;
  const actions = job ? actionsFor(job, queue).filter((a) => session.can(a.scope)) : [];
  const canReprioritize = job !== null && REPRIORITIZABLE.includes(job.state) && !job.group && session.can('admin');
  return (
    <>
      <p>
        <a href={href('q', queue)}>← {queue}</a>
      </p>
      <h1>
        Job <code>{id}</code> {job ? <StateBadge state={job.state} /> : <span class="badge">removed</span>}
      </h1>
      <ErrorLine error={error} />
      <Notice text={notice} />
      {actions.length > 0 || canReprioritize ? (
        <div class="toolbar" aria-label="Job actions">
          {actions.map((a) => (
            <button type="button" class={a.label === 'Remove' ? 'danger' : ''} onClick={() => setPending(a)}>
              {a.label}
            </button>
          ))}
          {canReprioritize && job ? (
            <PriorityControl
              job={job}
              queue={queue}
              onDone={(text) => {
                setNotice(text);
                void load();
              }}
              onError={setError}
            />
          ) : null}
        </div>
      ) : null}
      {job ? (
        <div class="grid">
          <dl class="facts">
            <dt>Name</dt>
            <dd>{job.name}</dd>
            <dt>Attempt</dt>
            <dd>
              {job.attempt} of {job.maxAttempts}
            </dd>
            <dt>Priority</dt>
            <dd>{job.priority}</dd>
            <dt>Backoff</dt>
            <dd>{JSON.stringify(job.backoff)}</dd>
            {job.timeoutMs !== undefined ? (
              <>
                <dt>Timeout</dt>
                <dd>{job.timeoutMs} ms</dd>
              </>
            ) : null}
            {job.group ? (
              <>
                <dt>Group</dt>
                <dd>{job.group}</dd>
              </>
            ) : null}
            <dt>Created</dt>
            <dd>{when(job.createdAt)}</dd>
            <dt>Updated</dt>
            <dd>{when(job.updatedAt)}</dd>
            {job.runAt ? (
              <>
                <dt>Due</dt>
                <dd>{when(job.runAt)}</dd>
              </>
            ) : null}
            {job.worker ? (
              <>
                <dt>Worker</dt>
                <dd>{job.worker}</dd>
              </>
            ) : null}
            {job.deadReason ? (
              <>
                <dt>Dead because</dt>
                <dd>{job.deadReason}</dd>
              </>
            ) : null}
            {job.progress !== undefined ? (
              <>
                <dt>Progress</dt>
                <dd>
                  {typeof job.progress === 'number' ? <progress max={100} value={job.progress} aria-label="Progress" /> : null} {JSON.stringify(job.progress)}
                </dd>
              </>
            ) : null}
            {job.traceparent ? (
              <>
                <dt>Trace</dt>
                <dd>
                  <code>{job.traceparent}</code>
                </dd>
              </>
            ) : null}
          </dl>
          <div>
            <JsonView label="Payload" value={job.payloadValue} {...(job.payload ? { bytes: job.payload.size } : {})} />
            {job.result ? <JsonView label="Result" value={job.resultValue} bytes={job.result.size} /> : null}
          </div>
        </div>
      ) : null}
      <h2>
        Timeline <small>{events.length} events, {attempts} attempt(s)</small>
      </h2>
      <ol class="timeline" aria-label="Event timeline">
        {events.map((e) => (
          <li class={`ev ev-${e.type}`} data-type={e.type}>
            <div class="ev-head">
              <span class="ev-type">{e.type}</span> <time dateTime={new Date(e.metadata.time).toISOString()}>{when(e.metadata.time)}</time>{' '}
              <small>
                #{e.metadata.seq} · {e.id}
              </small>
            </div>
            <EventDetail event={e} />
          </li>
        ))}
      </ol>
      {pending ? (
        <Confirm title={`${pending.label} job ${id}`} confirmLabel={pending.label} onConfirm={() => void run(pending)} onCancel={() => setPending(null)}>
          <p>
            {pending.label} job <code>{id}</code> (now {job?.state})?
          </p>
        </Confirm>
      ) : null}
    </>
  );
}
