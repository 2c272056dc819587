// The console's HTTP client: every call carries the bearer token kept in sessionStorage, and
// errors come back as the service's {error: {code, message, field?}}.

const TOKEN_KEY = 'sluice.token';

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** An error answer of the API. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type JobState = 'delayed' | 'waiting' | 'active' | 'completed' | 'failed' | 'dead' | 'cancelled' | 'blocked';
export const JOB_STATES: JobState[] = ['waiting', 'active', 'delayed', 'blocked', 'completed', 'failed', 'dead', 'cancelled'];

export interface RecordedError {
  name: string;
  message: string;
  stack?: string;
}

export interface PayloadRef {
  id: string;
  encoding: string;
  size: number;
  hash: string;
}

export interface Job {
  id: string;
  queue: string;
  name: string;
  state: JobState;
  priority: number;
  attempt: number;
  maxAttempts: number;
  backoff: Record<string, unknown>;
  timeoutMs?: number;
  payload?: PayloadRef;
  result?: PayloadRef;
  createdAt: number;
  updatedAt: number;
  runAt?: number;
  claimedAt?: number;
  finishedAt?: number;
  worker?: string;
  lastError?: RecordedError;
  progress?: unknown;
  deadReason?: string;
  cancelReason?: string;
  group?: string;
  dedupeKey?: string;
  traceparent?: string;
  seq: number;
  payloadValue?: unknown;
  resultValue?: unknown;
}

export interface JobEvent {
  id: string;
  type: string;
  v: number;
  data: Record<string, unknown>;
  metadata: { queue: string; jobId: string; time: number; seq: number; [k: string]: unknown };
}

export interface Stats {
  queue: string;
  paused: boolean;
  counts: Record<string, number>;
  events: Record<string, number>;
  /** When the longest-waiting job entered the waiting state (ms); absent when none waits. */
  oldestWaitingAt?: number;
  workers: { id: string; lastSeen: number }[];
}

export interface WhoAmI {
  name: string;
  scopes: string[];
  queues: string[];
}

export interface SearchResult {
  jobs: Job[];
  scanned: number;
  via: string;
  nextCursor?: string;
}

export interface AsOf {
  queue: string;
  at: number;
  events: number;
  counts: Record<string, number>;
  waiting: Job[];
  active: Job[];
  tookMs: number;
}

export interface VerifyResult {
  queue: string;
  projections: { clean: boolean; replayed: number; jobsCompared: number; differences: string[] };
  archive: { ok: boolean; checked: number; broken?: { n: number; id?: string; reason: string } };
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = getToken();
  return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
}

async function failure(response: Response): Promise<ApiError> {
  let code = `HTTP_${response.status}`;
  let message = response.statusText;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // Not JSON: keep the status text.
  }
  return new ApiError(response.status, code, message);
}

/** Calls the API; resolves with the JSON answer. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

/** `/v1/queues/<q>` with the queue name encoded. */
export function qpath(queue: string, rest = ''): string {
  return `/v1/queues/${encodeURIComponent(queue)}${rest}`;
}

/** `/v1/queues/<q>/jobs/<id>` with both encoded. */
export function jpath(queue: string, id: string, rest = ''): string {
  return qpath(queue, `/jobs/${encodeURIComponent(id)}${rest}`);
}

/**
 * Follows the live feed (Server-Sent Events). EventSource cannot send an Authorization header,
 * so this reads the stream with fetch and parses the SSE frames itself. Returns a stop function.
 */
export function follow(queue: string, onEvent: (event: JobEvent) => void, /** `connected`, `closed`, or an error message. */
  onState: (state: string) => void): () => void {
  const controller = new AbortController();
  void (async () => {
    try {
      const response = await fetch(qpath(queue, '/events'), { headers: headers({ accept: 'text/event-stream' }), signal: controller.signal });
      if (!response.ok || !response.body) throw await failure(response);
      onState('connected');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trimStart())
            .join('\n');
          if (data !== '' && !/^event: error$/m.test(frame)) onEvent(JSON.parse(data) as JobEvent);
        }
      }
      onState('closed');
    } catch (error) {
      if (!controller.signal.aborted) onState(error instanceof Error ? error.message : String(error));
    }
  })();
  return () => controller.abort();
}

/** Human size of a byte count. */
export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A time as local ISO-like text with milliseconds. */
export function when(ms: number | undefined): string {
  if (ms === undefined) return '—';
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** "3.2 s", "4 min"… since `ms`. */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}
