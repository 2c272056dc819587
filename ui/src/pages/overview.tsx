// Queues overview: counts per state, oldest waiting age, workers, pause flag, and sparklines of
// completions and failures per interval (from the queue's event counters, sampled while open).
import { useEffect, useRef, useState } from 'preact/hooks';
import { ago, api, JOB_STATES, qpath, type Stats } from '../api';
import { ErrorLine, Sparkline } from '../components';
import { href, type Session } from '../nav';

const POLL_MS = 2000;
const SAMPLES = 30;

interface Row {
  stats: Stats;
  oldestWaiting?: number;
  completed: number[];
  failed: number[];
}

export function OverviewPage({ session }: { session: Session }) {
  const [rows, setRows] = useState<Record<string, Row>>({});
  const [error, setError] = useState<unknown>(null);
  const last = useRef<Record<string, { completed: number; failed: number }>>({});

  const load = async (): Promise<void> => {
    try {
      const { queues } = await api<{ queues: string[] }>('GET', '/v1/queues');
      const loaded = await Promise.all(
        queues.map(async (q) => {
          const stats = await api<Stats>('GET', qpath(q, '/stats'));
          return [q, stats, stats.oldestWaitingAt] as const;
        }),
      );
      setRows((before) => {
        const next: Record<string, Row> = {};
        for (const [q, stats, oldest] of loaded) {
          const prev = before[q];
          const seen = last.current[q];
          const completed = stats.events.completed ?? 0;
          const failed = stats.events.failed ?? 0;
          const dc = seen ? Math.max(0, completed - seen.completed) : 0;
          const df = seen ? Math.max(0, failed - seen.failed) : 0;
          last.current[q] = { completed, failed };
          next[q] = {
            stats,
            ...(oldest === undefined ? {} : { oldestWaiting: oldest }),
            completed: [...(prev?.completed ?? []), dc].slice(-SAMPLES),
            failed: [...(prev?.failed ?? []), df].slice(-SAMPLES),
          };
        }
        return next;
      });
      setError(null);
    } catch (err) {
      setError(err);
    }
  };

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), POLL_MS);
    return () => clearInterval(timer);
  }, []);

  const toggle = async (queue: string, paused: boolean): Promise<void> => {
    try {
      await api('POST', qpath(queue, paused ? '/resume' : '/pause'));
      await load();
    } catch (err) {
      setError(err);
    }
  };

  const names = Object.keys(rows).sort();
  return (
    <>
      <h1>Queues</h1>
      <ErrorLine error={error} />
      {names.length === 0 ? <p>No queues yet: publish a job to create one.</p> : null}
      <div class="table-wrap">
        <table class="overview">
          <caption>Jobs per state; completions and failures per {POLL_MS / 1000} s since this page opened</caption>
          <thead>
            <tr>
              <th scope="col">Queue</th>
              {JOB_STATES.map((s) => (
                <th scope="col" class="num">
                  {s}
                </th>
              ))}
              <th scope="col">Oldest waiting</th>
              <th scope="col">Workers</th>
              <th scope="col">Throughput</th>
              <th scope="col">Failures</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {names.map((q) => {
              const row = rows[q]!;
              return (
                <tr data-queue={q}>
                  <th scope="row">
                    <a href={href('q', q)}>{q}</a>
                  </th>
                  {JOB_STATES.map((s) => (
                    <td class="num" data-state={s}>
                      {row.stats.counts[s] ?? 0}
                    </td>
                  ))}
                  <td>{row.oldestWaiting === undefined ? '—' : ago(row.oldestWaiting)}</td>
                  <td class="num">{row.stats.workers.length}</td>
                  <td>
                    <Sparkline values={row.completed} label={`${q} completions per interval`} cls="ok" />
                  </td>
                  <td>
                    <Sparkline values={row.failed} label={`${q} failures per interval`} cls="bad" />
                  </td>
                  <td>
                    {row.stats.paused ? <span class="badge s-dead">paused</span> : <span class="badge s-completed">running</span>}{' '}
                    {session.can('admin') ? (
                      <button type="button" onClick={() => void toggle(q, row.stats.paused)} aria-label={`${row.stats.paused ? 'Resume' : 'Pause'} queue ${q}`}>
                        {row.stats.paused ? 'Resume' : 'Pause'}
                      </button>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}
