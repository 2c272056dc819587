// Audit: verify the queue (read models against a replay, and the archive's hash chain), and
// export the events of a time range as NDJSON.
import { useState } from 'preact/hooks';
import { api, getToken, qpath, type VerifyResult } from '../api';
import { ErrorLine } from '../components';
import type { Session } from '../nav';

export function AuditPage({ session, queue }: { session: Session; queue: string }) {
  const [result, setResult] = useState<VerifyResult | null>(null);
  const [busy, setBusy] = useState(false);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [exported, setExported] = useState('');
  const [error, setError] = useState<unknown>(null);

  const verify = async (): Promise<void> => {
    setBusy(true);
    try {
      setResult(await api<VerifyResult>('POST', qpath(queue, '/verify')));
      setError(null);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const exportRange = async (e: Event): Promise<void> => {
    e.preventDefault();
    const params = new URLSearchParams();
    if (from) params.set('from', new Date(from).toISOString());
    if (to) params.set('to', new Date(to).toISOString());
    try {
      const response = await fetch(qpath(queue, `/replay?${params.toString()}`), { headers: { authorization: `Bearer ${getToken() ?? ''}` } });
      if (!response.ok) {
        const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
        throw new Error(body.error?.message ?? response.statusText);
      }
      const text = await response.text();
      const lines = text === '' ? 0 : text.trimEnd().split('\n').length;
      const url = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `${queue}-events.ndjson`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setExported(`Exported ${lines} event(s).`);
      setError(null);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <h1>Audit of {queue}</h1>
      <ErrorLine error={error} />
      <section aria-labelledby="verify-h">
        <h2 id="verify-h">Verify</h2>
        <p>Replays the whole history and compares it with the read models, and checks the archive's hash chain.</p>
        {session.can('admin') ? (
          <button type="button" onClick={() => void verify()} disabled={busy}>
            {busy ? 'Verifying…' : 'Verify now'}
          </button>
        ) : (
          <p class="hint">Verifying needs an admin token.</p>
        )}
        {result ? (
          <dl class="facts verify" aria-live="polite">
            <dt>Read models</dt>
            <dd class={result.projections.clean ? 'ok' : 'bad'}>
              {result.projections.clean ? 'match the log' : `${result.projections.differences.length} difference(s)`} ({result.projections.replayed} events, {result.projections.jobsCompared} jobs)
            </dd>
            <dt>Archive chain</dt>
            <dd class={result.archive.ok ? 'ok' : 'bad'}>
              {result.archive.ok ? 'intact' : `broken at record ${result.archive.broken?.n}: ${result.archive.broken?.reason}`} ({result.archive.checked} records)
            </dd>
            {result.projections.differences.length > 0 ? (
              <>
                <dt>Differences</dt>
                <dd>
                  <pre>{result.projections.differences.join('\n')}</pre>
                </dd>
              </>
            ) : null}
          </dl>
        ) : null}
      </section>
      <section aria-labelledby="export-h">
        <h2 id="export-h">Export NDJSON</h2>
        <form class="inline-form" onSubmit={(e) => void exportRange(e)}>
          <label for="from">From</label>
          <input id="from" type="datetime-local" step="1" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
          <label for="to">To</label>
          <input id="to" type="datetime-local" step="1" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
          <button type="submit">Export</button>
        </form>
        {exported ? <p role="status">{exported}</p> : null}
      </section>
    </>
  );
}
