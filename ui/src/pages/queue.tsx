// Queue page: jobs per state a page at a time (cursor), with bulk actions behind a confirmation
// that shows how many jobs they touch: retry all dead, clean finished jobs older than an age,
// cancel the selected jobs.
import { useEffect, useState } from 'preact/hooks';
import { api, jpath, JOB_STATES, qpath, type Job, type JobState, type Stats } from '../api';
import { Confirm, ErrorLine, JobCells, JobHeads, Notice } from '../components';
import type { Session } from '../nav';

const CANCELLABLE: JobState[] = ['waiting', 'delayed', 'active', 'blocked'];
const CLEANABLE: JobState[] = ['completed', 'dead', 'cancelled'];

interface Pending {
  title: string;
  text: string;
  confirm: string;
  run: () => Promise<string>;
}

export function QueuePage({ session, queue }: { session: Session; queue: string }) {
  const [state, setState] = useState<JobState>('waiting');
  const [stats, setStats] = useState<Stats | null>(null);
  const [jobs, setJobs] = useState<Job[]>([]);
  const [cursors, setCursors] = useState<string[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [newestFirst, setNewestFirst] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [olderMin, setOlderMin] = useState('60');
  const [pending, setPending] = useState<Pending | null>(null);
  const [notice, setNotice] = useState('');
  const [error, setError] = useState<unknown>(null);
  const cursor = cursors[cursors.length - 1];

  const load = async (): Promise<void> => {
    try {
      const [s, page] = await Promise.all([
        api<Stats>('GET', qpath(queue, '/stats')),
        api<{ jobs: Job[]; nextCursor?: string }>('GET', qpath(queue, `/jobs?state=${state}&limit=25${cursor ? `&cursor=${cursor}` : ''}`)),
      ]);
      setStats(s);
      setJobs(page.jobs);
      setNext(page.nextCursor);
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => {
    setSelected(new Set());
    void load();
  }, [queue, state, cursor]);

  const ask = (p: Pending): void => setPending(p);
  const confirmed = async (): Promise<void> => {
    const p = pending;
    setPending(null);
    if (!p) return;
    try {
      setNotice(await p.run());
      setSelected(new Set());
      await load();
    } catch (err) {
      setError(err);
    }
  };

  const retryAllDead = (): void => {
    const n = stats?.counts.dead ?? 0;
    ask({
      title: 'Retry all dead jobs',
      text: `Retry ${n} dead job${n === 1 ? '' : 's'} of queue ${queue} with a fresh attempt count?`,
      confirm: `Retry ${n}`,
      run: async () => {
        const r = await api<{ requeued: string[]; errors: unknown[] }>('POST', qpath(queue, '/dlq/requeue'), { all: true });
        return `Retried ${r.requeued.length} job(s); ${r.errors.length} could not be retried.`;
      },
    });
  };
  const clean = async (): Promise<void> => {
    const minutes = Number(olderMin);
    if (!Number.isFinite(minutes) || minutes < 0) return setError(new Error('age must be a number of minutes'));
    const body = { state, olderThanMs: Math.round(minutes * 60_000) };
    try {
      const dry = await api<{ matched: number }>('POST', qpath(queue, '/clean'), { ...body, dryRun: true });
      ask({
        title: `Clean ${state} jobs`,
        text: `Remove ${dry.matched} ${state} job${dry.matched === 1 ? '' : 's'} older than ${minutes} min from the read models? Their events stay in the log.`,
        confirm: `Remove ${dry.matched}`,
        run: async () => {
          const r = await api<{ removed: number }>('POST', qpath(queue, '/clean'), body);
          return `Removed ${r.removed} job(s).`;
        },
      });
    } catch (err) {
      setError(err);
    }
  };
  const cancelSelected = (): void => {
    const ids = [...selected];
    ask({
      title: 'Cancel selected jobs',
      text: `Cancel ${ids.length} selected job${ids.length === 1 ? '' : 's'}?`,
      confirm: `Cancel ${ids.length}`,
      run: async () => {
        let done = 0;
        for (const id of ids) {
          await api('POST', jpath(queue, id, '/cancel'), { reason: 'cancelled from the console' });
          done++;
        }
        return `Cancelled ${done} job(s).`;
      },
    });
  };

  const shown = newestFirst ? [...jobs].reverse() : jobs;
  const canSelect = session.can('publish') && CANCELLABLE.includes(state);
  return (
    <>
      <h1>
        Queue {queue} {stats?.paused ? <span class="badge s-dead">paused</span> : null}
      </h1>
      <ErrorLine error={error} />
      <Notice text={notice} />
      <div class="tabs" role="tablist" aria-label="Job state">
        {JOB_STATES.map((s) => (
          <button
            type="button"
            role="tab"
            aria-selected={s === state}
            data-state={s}
            onClick={() => {
              setCursors([]);
              setState(s);
            }}
          >
            {s} <span class="count">{stats?.counts[s] ?? 0}</span>
          </button>
        ))}
      </div>
      <div class="toolbar">
        <label>
          <input type="checkbox" checked={newestFirst} onChange={(e) => setNewestFirst(e.currentTarget.checked)} /> Newest first (this page)
        </label>
        {session.can('admin') && state === 'dead' ? (
          <button type="button" onClick={retryAllDead} disabled={(stats?.counts.dead ?? 0) === 0}>
            Retry all dead…
          </button>
        ) : null}
        {session.can('admin') && CLEANABLE.includes(state) ? (
          <span class="inline">
            <label for="older">Older than (min)</label>
            <input id="older" type="number" min="0" step="any" value={olderMin} onInput={(e) => setOlderMin(e.currentTarget.value)} />
            <button type="button" onClick={() => void clean()}>
              Clean {state}…
            </button>
          </span>
        ) : null}
        {canSelect ? (
          <button type="button" onClick={cancelSelected} disabled={selected.size === 0}>
            Cancel selected ({selected.size})…
          </button>
        ) : null}
      </div>
      <div class="table-wrap">
        <table>
          <caption>
            {state} jobs, {newestFirst ? 'newest' : 'oldest'} first (by the time they entered the state)
          </caption>
          <thead>
            <tr>
              {canSelect ? <th scope="col">Select</th> : null}
              <JobHeads />
            </tr>
          </thead>
          <tbody>
            {shown.map((job) => (
              <tr data-job={job.id}>
                {canSelect ? (
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select job ${job.id}`}
                      checked={selected.has(job.id)}
                      onChange={(e) => {
                        const s = new Set(selected);
                        if (e.currentTarget.checked) s.add(job.id);
                        else s.delete(job.id);
                        setSelected(s);
                      }}
                    />
                  </td>
                ) : null}
                <JobCells queue={queue} job={job} />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="pager">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={next === undefined} onClick={() => next !== undefined && setCursors([...cursors, next])}>
          Next page
        </button>
      </div>
      {pending ? (
        <Confirm title={pending.title} confirmLabel={pending.confirm} onConfirm={() => void confirmed()} onCancel={() => setPending(null)}>
          <p>{pending.text}</p>
        </Confirm>
      ) : null}
    </>
  );
}
