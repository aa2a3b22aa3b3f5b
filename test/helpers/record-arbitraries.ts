/** fast-check arbitraries for bus records, shared by the tests of the JSONL writer and its thread. */
import fc from 'fast-check';
import type { MessageRecord } from '../../src/proxy/events.js';

/** A message record of any fate, with payloads from `payload` (as Buffers and as plain Uint8Arrays: the encoder has a path for each). */
export function messageRecordOf(payload: fc.Arbitrary<Uint8Array>): fc.Arbitrary<MessageRecord> {
  return fc.record({
    id: fc.nat(),
    session: fc.nat(100000),
    time: fc.integer({ min: 0, max: Date.UTC(2200, 0, 1) }),
    from: fc.constantFrom('client' as const, 'server' as const),
    kind: fc.constantFrom('text' as const, 'binary' as const),
    length: fc.nat(),
    payload: fc.oneof(payload, payload.map((b) => new Uint8Array(b))),
    truncated: fc.boolean(),
    frames: fc.integer({ min: 1, max: 10000 }),
    compressed: fc.boolean(),
    fate: fc.constantFrom('forwarded' as const, 'modified' as const, 'dropped' as const, 'injected' as const, 'streamed' as const),
    by: fc.option(fc.constantFrom('script', 'replace', 'intercept', 'x"\u202e', 'é'.repeat(100))),
  });
}
