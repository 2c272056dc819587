/**
 * Search terms of a payload: the scalar leaves of a JSON object payload as `path=<JSON value>`
 * strings (`customer.id="acme"`, `n=42`, `tags="red"` for each element of an array). The MongoDB
 * payload store keeps them in the document's `terms` array, whose multikey index `terms_1` serves
 * an equality query per term: that is how the console, `GET /v1/queues/{q}/jobs/search?payload=`
 * and `sluice search --payload` find jobs by a payload field. See docs/CONSOLE.md.
 *
 * Bounded so a large payload cannot bloat its document or the index: leaves down to depth
 * {@link MAX_TERM_DEPTH}, strings up to {@link MAX_TERM_VALUE_LENGTH} characters, at most
 * {@link MAX_TERMS} terms per payload (the first ones in document order).
 *
 * @packageDocumentation
 */

/** Deepest object nesting whose leaves become terms (top-level fields are depth 1). */
export const MAX_TERM_DEPTH = 4;
/** Longest string value (in characters) that becomes a term. */
export const MAX_TERM_VALUE_LENGTH = 200;
/** Most terms kept per payload. */
export const MAX_TERMS = 64;

/** The term of `path` holding `value`: `path=` followed by the value's JSON. */
export function payloadTerm(path: string, value: string | number | boolean | null): string {
  return `${path}=${JSON.stringify(value)}`;
}

/**
 * The search terms of a payload value; `[]` for anything but a plain JSON object (binary
 * payloads, arrays, scalars).
 */
export function payloadTerms(value: unknown): string[] {
  const out: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) return out;
  const leaf = (path: string, v: unknown): void => {
    if (out.length >= MAX_TERMS) return;
    if (typeof v === 'string') {
      if (v.length <= MAX_TERM_VALUE_LENGTH) out.push(payloadTerm(path, v));
    } else if (typeof v === 'number' || typeof v === 'boolean' || v === null) {
      out.push(payloadTerm(path, v));
    }
  };
  const walk = (object: Record<string, unknown>, prefix: string, depth: number): void => {
    for (const [key, v] of Object.entries(object)) {
      if (out.length >= MAX_TERMS) return;
      const path = prefix === '' ? key : `${prefix}.${key}`;
      if (Array.isArray(v)) {
        for (const element of v) leaf(path, element);
      } else if (typeof v === 'object' && v !== null) {
        if (depth < MAX_TERM_DEPTH) walk(v as Record<string, unknown>, path, depth + 1);
      } else {
        leaf(path, v);
      }
    }
  };
  walk(value as Record<string, unknown>, '', 1);
  return [...new Set(out)];
}

/**
 * The terms a search for `path` = `text` matches: the text as a string, and also as the JSON
 * number, boolean or null it spells (`n=42` finds `{"n": 42}` and `{"n": "42"}`).
 */
export function searchTerms(path: string, text: string): string[] {
  const terms = [payloadTerm(path, text)];
  if (/^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)$/.test(text)) {
    terms.push(payloadTerm(path, JSON.parse(text) as number | boolean | null));
  }
  return terms;
}
