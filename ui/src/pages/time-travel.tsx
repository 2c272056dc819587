// Time travel: the queue as it was at a past moment (GET …/as-of), computed on the server by
// replaying the history up to that moment.
import { useState } from 'preact/hooks';
import { api, JOB_STATES, qpath, when, type AsOf, type Job } from '../api';
import { ErrorLine } from '../components';
import { href } from '../nav';

function localNow(): string {
  const d = new Date(Date.now() - new Date().getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}

function Jobs({ queue, title, jobs }: { queue: string; title: string; jobs: Job[] }) {
  return (
    <section aria-label={title}>
      <h2>
        {title} <small>({jobs.length} listed)</small>
      </h2>
      <ul class="plain">
        {jobs.map((job) => (
          <li data-job={job.id}>
            <a href={href('q', queue, 'job', job.id)}>{job.id}</a> {job.name} <small>priority {job.priority}, since {when(job.updatedAt)}</small>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function TimeTravelPage({ queue }: { queue: string }) {
  const [at, setAt] = useState(localNow);
  const [result, setResult] = useState<AsOf | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const run = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    try {
      const ms = new Date(at).getTime();
      setResult(await api<AsOf>('GET', qpath(queue, `/as-of?at=${ms}`)));
      setError(null);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>{queue} at a past moment</h1>
      <form class="inline-form" onSubmit={(e) => void run(e)}>
        <label for="at">Moment (local time)</label>
        <input id="at" name="at" type="datetime-local" step="0.001" required value={at} onInput={(e) => setAt(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>
          {busy ? 'Replaying…' : 'Show'}
        </button>
      </form>
      <ErrorLine error={error} />
      {result ? (
        <>
          <p role="status" class="status">
            As of {when(result.at)}: {result.events} events replayed in {result.tookMs} ms.
          </p>
          <div class="table-wrap">
            <table class="asof">
              <caption>Jobs per state at {when(result.at)}</caption>
              <thead>
                <tr>
                  {JOB_STATES.map((s) => (
                    <th scope="col" class="num">
                      {s}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                <tr>
                  {JOB_STATES.map((s) => (
                    <td class="num" data-state={s}>
                      {result.counts[s] ?? 0}
                    </td>
                  ))}
                </tr>
              </tbody>
            </table>
          </div>
          <div class="grid">
            <Jobs queue={queue} title="Waiting then" jobs={result.waiting} />
            <Jobs queue={queue} title="Active then" jobs={result.active} />
          </div>
        </>
      ) : null}
    </>
  );
}
