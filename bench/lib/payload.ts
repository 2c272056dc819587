/**
 * The job payload of every scenario that carries one: a JSON object whose `JSON.stringify` is
 * exactly 1,024 bytes (1 KiB), shaped like a typical job (a few fields and a text body).
 */
const base = {
  type: 'invoice.render',
  tenant: 'acme-corp',
  invoiceId: 'inv-2024-000017',
  locale: 'en-GB',
  currency: 'EUR',
  lines: [
    { sku: 'A-100', qty: 2, price: 1999 },
    { sku: 'B-220', qty: 1, price: 4999 },
  ],
  notes: '',
};
const overhead = JSON.stringify(base).length;

/** The 1 KiB JSON payload. */
export const PAYLOAD_1KIB: Readonly<typeof base> = Object.freeze({ ...base, notes: 'x'.repeat(1024 - overhead) });

/** Its size in bytes as JSON (asserted at load). */
export const PAYLOAD_BYTES = Buffer.byteLength(JSON.stringify(PAYLOAD_1KIB));
if (PAYLOAD_BYTES !== 1024) throw new Error(`bench payload is ${PAYLOAD_BYTES} bytes, expected 1024`);
