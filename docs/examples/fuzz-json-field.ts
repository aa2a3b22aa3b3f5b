/**
 * A simple fuzzer: in JSON messages from the client, the field FUZZ_FIELD (default "amount") is
 * replaced by an awkward value: huge and negative numbers, NaN-like strings, wrong types, long
 * strings. Each mutation is logged with the message id so a crash on the server can be traced
 * back. FUZZ_SEED makes a run repeatable; FUZZ_RATE (0..1, default 1) mutates only some messages.
 *
 *   FUZZ_FIELD=price FUZZ_SEED=42 wsproxy --listen 9000 --target localhost:12345 --script docs/examples/fuzz-json-field.ts
 */
import { defineScript } from 'wsproxy';

const FIELD = process.env['FUZZ_FIELD'] ?? 'amount';
const RATE = Number(process.env['FUZZ_RATE'] ?? 1);
let seed = Number(process.env['FUZZ_SEED'] ?? Date.now()) >>> 0;

/** mulberry32: a tiny seeded PRNG, so a seed replays the same mutations. */
function random(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export const MUTATIONS: readonly unknown[] = [
  0,
  -1,
  -0.0001,
  2 ** 31,
  2 ** 53 + 1,
  -(2 ** 63),
  1e308,
  'NaN',
  'Infinity',
  '',
  '0x10',
  '1e9999',
  null,
  true,
  [],
  {},
  'A'.repeat(10_000),
  '\u0000',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
];

export default defineScript({
  onMessage(msg, ctx) {
    if (msg.from !== 'client' || msg.kind !== 'text') return;
    const data = msg.json();
    if (data === null || typeof data !== 'object' || !(FIELD in data)) return;
    if (random() >= RATE) return;
    const value = MUTATIONS[Math.floor(random() * MUTATIONS.length)];
    const shown = JSON.stringify(value) ?? String(value);
    ctx.log(`fuzz message ${msg.id}: ${FIELD} ${JSON.stringify(data[FIELD])} → ${shown.length > 40 ? `${shown.slice(0, 40)}… (${shown.length} chars)` : shown}`);
    data[FIELD] = value;
    return JSON.stringify(data);
  },
});
