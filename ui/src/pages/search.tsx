// Search: job id (exact or prefix), name, state, time range, error text, a payload field —
// the same query as GET /v1/queues/{q}/jobs/search and `sluice search`.
import { useState } from 'preact/hooks';
import { api, JOB_STATES, qpath, type SearchResult } from '../api';
import { ErrorLine, JobCells, JobHeads } from '../components';

const FIELDS = ['id', 'idPrefix', 'name', 'state', 'from', 'to', 'error', 'payload'] as const;
type Field = (typeof FIELDS)[number];

function toIso(local: string): string {
  return new Date(local).toISOString();
}

export function SearchPage({ queue }: { queue: string }) {
  const [form, setForm] = useState<Record<Field, string>>({ id: '', idPrefix: '', name: '', state: '', from: '', to: '', error: '', payload: '' });
  const [result, setResult] = useState<SearchResult | null>(null);
  const [cursor, setCursor] = useState<string | undefined>();
  const [error, setError] = useState<unknown>(null);
  const set = (f: Field) => (e: Event) => setForm({ ...form, [f]: (e.currentTarget as HTMLInputElement).value });

  const run = async (e: Event | null, after?: string): Promise<void> => {
    e?.preventDefault();
    const params = new URLSearchParams();
    for (const f of FIELDS) {
      const v = form[f].trim();
      if (v !== '') params.set(f, f === 'from' || f === 'to' ? toIso(v) : v);
    }
    if (after) params.set('cursor', after);
    try {
      const r = await api<SearchResult>('GET', qpath(queue, `/jobs/search?${params.toString()}`));
      setResult(r);
      setCursor(r.nextCursor);
      setError(null);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <h1>Search jobs of {queue}</h1>
      <form class="search" onSubmit={(e) => void run(e)}>
        <label>
          Job id (exact) <input name="id" value={form.id} onInput={set('id')} />
        </label>
        <label>
          Job id prefix <input name="idPrefix" value={form.idPrefix} onInput={set('idPrefix')} />
        </label>
        <label>
          Name <input name="name" value={form.name} onInput={set('name')} />
        </label>
        <label>
          State{' '}
          <select name="state" value={form.state} onChange={set('state')}>
            <option value="">any</option>
            {JOB_STATES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Entered state from <input name="from" type="datetime-local" step="1" value={form.from} onInput={set('from')} />
        </label>
        <label>
          to <input name="to" type="datetime-local" step="1" value={form.to} onInput={set('to')} />
        </label>
        <label>
          Error text <input name="error" value={form.error} onInput={set('error')} />
        </label>
        <label>
          Payload field <input name="payload" placeholder="customer.id=acme" value={form.payload} onInput={set('payload')} aria-describedby="payload-hint" />
        </label>
        <p id="payload-hint" class="hint">
          <code>path=value</code>: a payload field equal to a value (served by the payload collection's index <code>terms_1</code>).
        </p>
        <button type="submit">Search</button>
      </form>
      <ErrorLine error={error} />
      {result ? (
        <>
          <p role="status" class="status">
            {result.jobs.length} job(s) found, {result.scanned} read (via {result.via}){cursor ? '; more may match' : ''}
          </p>
          <div class="table-wrap">
            <table class="results">
              <caption>Search results</caption>
              <thead>
                <tr>
                  <JobHeads />
                </tr>
              </thead>
              <tbody>
                {result.jobs.map((job) => (
                  <tr data-job={job.id}>
                    <JobCells queue={queue} job={job} />
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {cursor ? (
            <button type="button" onClick={() => void run(null, cursor)}>
              Next results
            </button>
          ) : null}
        </>
      ) : null}
    </>
  );
}
