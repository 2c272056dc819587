// Small shared pieces: JSON view, sparkline, confirmation dialog, state badge, error line.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { size, when, type Job } from './api';
import { href } from './nav';

/** Pretty JSON with its size; `bytes` is the stored size when known. */
export function JsonView({ label, value, bytes }: { label: string; value: unknown; bytes?: number }) {
  const text = value === undefined ? '(none)' : JSON.stringify(value, null, 2);
  const shown = bytes ?? new TextEncoder().encode(text).byteLength;
  return (
    <section class="json" aria-label={label}>
      <h3>
        {label} <small>{size(shown)}</small>
      </h3>
      <pre tabIndex={0}>{text}</pre>
    </section>
  );
}

/** A small line chart of `values` (no axes), with a text equivalent for screen readers. */
export function Sparkline({ values, label, cls = '' }: { values: number[]; label: string; cls?: string }) {
  if (values.length < 2) return <span class="hint">collecting…</span>;
  const w = 120;
  const h = 28;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(h - (v / max) * (h - 2) - 1).toFixed(1)}`).join(' ');
  const last = values[values.length - 1] ?? 0;
  return (
    <svg class={`spark ${cls}`} width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${label}: latest ${last}, peak ${Math.max(0, ...values)}`}>
      <polyline points={points} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}

/** A modal confirmation: Enter confirms, Escape cancels; focus starts on Cancel. */
export function Confirm({ title, children, confirmLabel, onConfirm, onCancel }: { title: string; children: ComponentChildren; confirmLabel: string; onConfirm: () => void; onCancel: () => void }) {
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    cancel.current?.focus();
    const key = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') onCancel();
    };
    window.addEventListener('keydown', key);
    return () => window.removeEventListener('keydown', key);
  }, []);
  return (
    <div class="backdrop">
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="confirm-title">
        <h2 id="confirm-title">{title}</h2>
        <div>{children}</div>
        <div class="row">
          <button ref={cancel} type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="button" class="danger" onClick={onConfirm}>
            {confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge s-${state}`}>{state}</span>;
}

export function ErrorLine({ error }: { error: unknown }) {
  if (!error) return null;
  const text = error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
  const code = (error as { code?: string }).code;
  return (
    <p class="error" role="alert">
      {code ? <code>{code}</code> : null} {text}
    </p>
  );
}

/** The header cells matching {@link JobCells}. */
export function JobHeads() {
  return (
    <>
      <th scope="col">Job</th>
      <th scope="col">Name</th>
      <th scope="col">State</th>
      <th scope="col" class="num">
        Attempt
      </th>
      <th scope="col">Updated</th>
      <th scope="col">Last error</th>
    </>
  );
}

/** A job's cells in a table row: link, name, state, attempt, last update, last error. */
export function JobCells({ queue, job }: { queue: string; job: Job }) {
  return (
    <>
      <td>
        <a href={href('q', queue, 'job', job.id)}>{job.id}</a>
      </td>
      <td>{job.name}</td>
      <td>
        <StateBadge state={job.state} />
      </td>
      <td class="num">
        {job.attempt}/{job.maxAttempts}
      </td>
      <td>{when(job.updatedAt)}</td>
      <td class="clip">{job.lastError ? `${job.lastError.name}: ${job.lastError.message}` : ''}</td>
    </>
  );
}

/** A status line after an action. */
export function Notice({ text }: { text: string }) {
  return text ? (
    <p class="notice" role="status">
      {text}
    </p>
  ) : null;
}
