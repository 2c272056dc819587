/**
 * Maps everything a request can fail with to a {@link SluiceError}, and a SluiceError to the
 * response: its `httpStatus` (503 with `Retry-After` when retryable) and the body
 * `{error: {code, message, field?}}`. Validation messages name the field at fault; unknown
 * failures answer 500 with a generic message (the details go to the log, secrets scrubbed).
 *
 * @packageDocumentation
 */
import type { ErrorObject } from 'ajv';
import { describe, isRedisDown, isSluiceError, RedisUnavailableError, SluiceError, ValidationError } from '../core/errors.js';
import { toJobId, toQueueName } from '../core/keys.js';
import { scrubSecrets } from '../app/config.js';
import type { ErrorBody } from './schemas.js';

/** The longest path parameter the router accepts (job ids are up to 200 characters, URL-encoded up to 3 bytes each). */
export const MAX_PARAM_LENGTH = 1000;

/** Seconds a client should wait before retrying a retryable failure. */
export const RETRY_AFTER_SECONDS = 1;

/** A fastify or ajv error as the error handler receives it. */
interface HttpLayerError extends Error {
  code?: string;
  statusCode?: number;
  validation?: ErrorObject[];
  validationContext?: string;
}

/** `/jobs/3/opts/priority` → `jobs[3].opts.priority`. */
export function pointerToField(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path === '' ? part : `${path}.${part}`), '');
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function valueAt(root: unknown, pointer: string): unknown {
  let value = root;
  for (const part of pointer.split('/').slice(1)) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return value;
}

/** Turns the first ajv error of a request part into a {@link ValidationError} naming the field. */
export function fromAjv(errors: readonly ErrorObject[], context: string, data: unknown): ValidationError {
  // A value that fits no branch of a union: report the union, not its first branch.
  const error = errors.find((e) => e.keyword === 'anyOf') ?? errors[0];
  const part = context === 'querystring' ? 'query' : context;
  if (!error) return new ValidationError(part, 'is invalid');
  const base = pointerToField(error.instancePath);
  const join = (child: string): string => (base === '' ? child : `${base}.${child}`);
  const value = valueAt(data, error.instancePath);
  switch (error.keyword) {
    case 'additionalProperties': {
      const extra = String((error.params as { additionalProperty: string }).additionalProperty);
      return new ValidationError(join(extra), 'is not a known field');
    }
    case 'required':
      return new ValidationError(join(String((error.params as { missingProperty: string }).missingProperty)), 'is required');
    case 'type':
      return new ValidationError(base || part, `${error.message ?? 'has the wrong type'}, got ${typeOf(value)}`);
    case 'pattern':
      // Queue names and job ids: the library's own message says which characters are allowed.
      if (context === 'params' && (base === 'queue' || base === 'id')) {
        try {
          if (base === 'queue') toQueueName(value, 'queue');
          else toJobId(value, 'id');
        } catch (e) {
          if (e instanceof ValidationError) return e;
        }
      }
      return new ValidationError(base || part, `${JSON.stringify(clip(value))} ${error.message ?? 'does not match'}`);
    case 'enum':
      return new ValidationError(
        base || part,
        `must be one of ${((error.params as { allowedValues?: unknown[] }).allowedValues ?? []).map(String).join(', ')}, got ${JSON.stringify(clip(value))}`,
      );
    case 'anyOf':
      return new ValidationError(base || part, `has none of the accepted types or forms (see /openapi.json), got ${JSON.stringify(clip(value))}`);
    case 'const':
      return new ValidationError(base || part, `${error.message ?? 'is not allowed'}, got ${JSON.stringify(clip(value))}`);
    default:
      return new ValidationError(base || part, error.message ?? 'is invalid');
  }
}

function clip(value: unknown): unknown {
  return typeof value === 'string' && value.length > 60 ? `${value.slice(0, 60)}…` : value;
}

/**
 * The {@link SluiceError} for anything thrown while serving a request, or `undefined` for an
 * unexpected failure (answered 500).
 */
export function toSluiceError(error: unknown, bodyLimit: number): SluiceError | undefined {
  if (isSluiceError(error)) return error;
  if (!(error instanceof Error)) return undefined;
  const e = error as HttpLayerError;
  if (e.validation) return fromAjv(e.validation, e.validationContext ?? 'body', undefined);
  switch (e.code) {
    case 'FST_ERR_BAD_URL':
      return new ValidationError('url', `is not valid percent-encoded UTF-8: ${JSON.stringify(clip(e.message.replace(/ is not a valid url component$/, '').replace(/^'|'$/g, '')))}`);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new SluiceError('SLUICE_ERR_URI_TOO_LONG', `a path parameter is longer than ${MAX_PARAM_LENGTH} characters (queue names have at most 100, job ids at most 200)`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new SluiceError('SLUICE_ERR_PAYLOAD_TOO_LARGE', `request body is larger than ${bodyLimit} bytes (SLUICE_BODY_LIMIT / SLUICE_BULK_BODY_LIMIT)`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new SluiceError('SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE', 'request body must be JSON (Content-Type: application/json)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ValidationError('body', 'is empty although Content-Type is application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ValidationError('body', `is not valid JSON: ${e.message.replace(/^.*?:\s*/, '')}`);
    default:
      break;
  }
  if (e instanceof SyntaxError && e.statusCode === 400) return new ValidationError('body', `is not valid JSON: ${e.message}`);
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 413) return new SluiceError('SLUICE_ERR_PAYLOAD_TOO_LARGE', e.message);
    if (e.statusCode === 415) return new SluiceError('SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE', e.message);
    return new ValidationError('request', e.message);
  }
  if (isRedisDown(e)) return new RedisUnavailableError('request', e);
  return undefined;
}

/**
 * The {@link SluiceError} for a request Node's HTTP parser refused before fastify saw it
 * (fastify's `clientErrorHandler`): headers too large, a timeout, or bytes that are not HTTP.
 */
export function clientError(error: Error & { code?: string }): SluiceError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new SluiceError('SLUICE_ERR_HEADERS_TOO_LARGE', 'the request headers are too large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new SluiceError('SLUICE_ERR_REQUEST_TIMEOUT', 'the request was not received in time');
    default:
      return new ValidationError('request', `is not a valid HTTP/1.1 request (${error.code ?? 'parse error'})`);
  }
}

/** The HTTP status, headers and body for an error. */
export function errorResponse(error: SluiceError | undefined): { status: number; headers: Record<string, string>; body: ErrorBody } {
  if (!error) {
    return { status: 500, headers: {}, body: { error: { code: 'SLUICE_ERR_INTERNAL', message: 'internal error; see the service log' } } };
  }
  const headers: Record<string, string> = {};
  let status = error.httpStatus;
  if (error.retryable) {
    status = 503;
    headers['retry-after'] = String(RETRY_AFTER_SECONDS);
  }
  if (error.code === 'SLUICE_ERR_UNAUTHORIZED') headers['www-authenticate'] = 'Bearer realm="sluice"';
  const body: ErrorBody = { error: { code: error.code, message: scrubSecrets(error.message) } };
  if (error instanceof ValidationError) body.error.field = error.field;
  return { status, headers, body };
}

/** A short, secret-free description for logs. */
export function logDescription(error: unknown): string {
  return scrubSecrets(describe(error));
}
