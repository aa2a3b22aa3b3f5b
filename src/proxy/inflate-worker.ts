/**
 * The inflating thread (started by inflate-thread.ts): the requests of its ring go through an
 * InflateEngine (inflate-engine.ts) in order; the answers go back through the other ring. While
 * the relay's thread has not read enough answers to make room, this one waits for it.
 */
import { workerData } from 'node:worker_threads';
import { RingReader, RingSlot, RingWriter } from './byte-ring.js';
import { InflateEngine } from './inflate-engine.js';
import { DONE_HEAD, PIECE_HEAD, Res, type InflateThreadData } from './inflate-wire.js';

const data = workerData as InflateThreadData;
const requests = new RingReader(data.requests);
const results = new RingWriter(data.results);
const encoder = new TextEncoder();
const PIECE_MAX = 256 * 1024;

/** Room for an answer of n bytes: while the relay's thread has not read enough, it is woken and waited for. */
function room(n: number): number {
  for (;;) {
    const at = results.begin(n);
    if (at >= 0) return at;
    results.wake();
    Atomics.wait(results.control, RingSlot.TAIL, Atomics.load(results.control, RingSlot.TAIL), 5);
  }
}

const engine = new InflateEngine({
  piece(out, _view, n) {
    // A large message held whole for a decider comes back in pieces a ring takes.
    for (let from = 0; from < n; from += PIECE_MAX) {
      const k = Math.min(PIECE_MAX, n - from);
      const at = room(PIECE_HEAD + k);
      results.bytes[at] = Res.PIECE;
      results.bytes.set(out.subarray(from, from + k), at + PIECE_HEAD);
      results.commit();
    }
  },
  done(flags, length, error) {
    const text = error === null ? null : encoder.encode(error.message.slice(0, 200));
    const at = room(DONE_HEAD + (text?.length ?? 0));
    results.bytes[at] = Res.DONE;
    results.bytes[at + 1] = flags;
    results.view.setFloat64(at + 2, length, true);
    if (text !== null) results.bytes.set(text, at + DONE_HEAD);
    results.commit();
  },
});

/**
 * While requests flow the thread looks for them every NAP_MS on its own, as the printer's does;
 * after IDLE_NAPS naps with nothing it sleeps until woken (the relay's thread then pays a wake).
 */
const NAP_MS = 1;
const IDLE_NAPS = 50;

let naps = 0;
for (;;) {
  const at = requests.next();
  if (at < 0) {
    // Everything asked so far is answered: the relay's thread hears of it if it waits.
    results.wake();
    const head = requests.head;
    if (naps < IDLE_NAPS) {
      naps++;
      Atomics.wait(requests.control, RingSlot.HEAD, head, NAP_MS);
      continue;
    }
    Atomics.store(requests.control, RingSlot.SLEEPING, 1);
    Atomics.wait(requests.control, RingSlot.HEAD, head);
    Atomics.store(requests.control, RingSlot.SLEEPING, 0);
    continue;
  }
  naps = 0;
  engine.handle(requests.bytes, requests.view, at, requests.length);
  requests.done();
}
