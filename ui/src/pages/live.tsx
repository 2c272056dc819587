// Live feed: the queue's events as they are appended (SSE read with fetch), filterable by event
// type and job name, pausable. Job names come from the `created` events seen and from a lookup
// of the job for the others (cached).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, follow, jpath, when, type Job, type JobEvent } from '../api';
import { ErrorLine } from '../components';
import { href } from '../nav';

const TYPES = ['created', 'scheduled', 'promoted', 'reprioritized', 'claimed', 'progress', 'completed', 'failed', 'timed-out', 'lost', 'dead-lettered', 'retried', 'cancelled', 'removed', 'dependency-resolved'];
const KEEP = 500;

export function LivePage({ queue }: { queue: string }) {
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [status, setStatus] = useState('connecting…');
  const [paused, setPaused] = useState(false);
  const [type, setType] = useState('');
  const [name, setName] = useState('');
  const names = useRef(new Map<string, string>());
  const held = useRef<JobEvent[]>([]);
  const pausedRef = useRef(false);
  pausedRef.current = paused;

  useEffect(() => {
    setEvents([]);
    const stop = follow(
      queue,
      (event) => {
        if (event.type === 'created') names.current.set(event.metadata.jobId, String(event.data.name));
        else if (!names.current.has(event.metadata.jobId)) {
          names.current.set(event.metadata.jobId, '');
          api<Job>('GET', jpath(queue, event.metadata.jobId))
            .then((job) => names.current.set(job.id, job.name))
            .catch(() => undefined);
        }
        if (pausedRef.current) held.current.push(event);
        else setEvents((list) => [event, ...list].slice(0, KEEP));
      },
      setStatus,
    );
    return stop;
  }, [queue]);

  const resume = (): void => {
    const waiting = held.current.reverse();
    held.current = [];
    setEvents((list) => [...waiting, ...list].slice(0, KEEP));
    setPaused(false);
  };

  const shown = events.filter((e) => (type === '' || e.type === type) && (name === '' || (names.current.get(e.metadata.jobId) ?? '').includes(name)));
  return (
    <>
      <h1>Live events of {queue}</h1>
      <p role="status" class="status" data-status={status}>
        Feed: {status}
        {paused ? `, paused (${held.current.length} held)` : ''}
      </p>
      {status !== 'connected' && status !== 'connecting…' && status !== 'closed' ? <ErrorLine error={new Error(status)} /> : null}
      <div class="toolbar">
        <label>
          Type{' '}
          <select value={type} onChange={(e) => setType(e.currentTarget.value)}>
            <option value="">all</option>
            {TYPES.map((t) => (
              <option value={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Job name <input type="search" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <button type="button" onClick={() => (paused ? resume() : setPaused(true))} aria-pressed={paused}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" onClick={() => setEvents([])}>
          Clear
        </button>
      </div>
      <div class="table-wrap">
        <table class="feed">
          <caption>Newest first (at most {KEEP} kept)</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Type</th>
              <th scope="col">Job</th>
              <th scope="col">Name</th>
              <th scope="col">Seq</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr data-type={e.type} data-job={e.metadata.jobId}>
                <td>{when(e.metadata.time)}</td>
                <td>
                  <span class={`ev-type ev-${e.type}`}>{e.type}</span>
                </td>
                <td>
                  <a href={href('q', queue, 'job', e.metadata.jobId)}>{e.metadata.jobId}</a>
                </td>
                <td>{names.current.get(e.metadata.jobId) ?? ''}</td>
                <td class="num">{e.metadata.seq}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
