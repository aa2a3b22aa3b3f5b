/**
 * The inflater that runs after each write (later-inflater.ts): frames are only queued while a chunk
 * is read, and answered in order once written() runs; the context is kept across messages (or
 * reset, RFC 7692 §7.1.1), output past the cap is counted and dropped, errors are reported and
 * recovered from, and large work is sliced over turns of the event loop, in order.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { TURN_BUDGET, type InflatedPart } from '../../src/proxy/inflater.js';
import { LaterInflater, type InflateAnswer } from '../../src/proxy/later-inflater.js';
import { compressAll, noise as noiseBytes } from '../helpers/deflate.js';

const messages = Array.from({ length: 200 }, (_, i) => Buffer.from(JSON.stringify({ type: 'tick', seq: i, px: (100 + ((i * 7919) % 1000) / 10).toFixed(2), qty: (i * 31) % 500 })));

/** What an answer heard: its pieces and how it ended. */
class Heard implements InflateAnswer {
  pieces: Buffer[] = [];
  ended: { length: number; error: Error | null; badUtf8: boolean } | null = null;
  piece(bytes: Uint8Array, _view: DataView, n: number): boolean {
    this.pieces.push(Buffer.from(bytes.subarray(0, n)));
    return false;
  }
  done(length: number, error: Error | null, badUtf8: boolean): void {
    this.ended = { length, error, badUtf8 };
  }
  get data(): string {
    return Buffer.concat(this.pieces).toString();
  }
}

/** A whole last frame written as the relay does: unmasked into the request, with the tail. */
function wholeFrame(inflater: LaterInflater, compressed: Buffer): void {
  const at = inflater.reserveInput(compressed.length + 4, true);
  inflater.input.set(compressed, at);
  inflater.input.set([0, 0, 0xff, 0xff], at + compressed.length);
  inflater.commitInput();
}

describe('the inflater that runs after the write', () => {
  for (const reset of [false, true]) {
    test(`nothing is inflated before written(); then every frame is answered in order, ${reset ? 'no context takeover' : 'context takeover'}`, () => {
      const inflater = new LaterInflater({ windowBits: 15, noContextTakeover: reset });
      const compressed = compressAll(messages, reset);
      const heard = compressed.map((c, i) => {
        const answer = new Heard();
        inflater.begin(1024, true);
        // Half as the relay writes a whole frame, half through write() and an END of its own.
        if (i % 2 === 0) wholeFrame(inflater, c);
        else inflater.write(c);
        inflater.endFrameTo(true, answer);
        return answer;
      });
      assert.ok(heard.every((h) => h.ended === null), 'nothing answered while the chunk is read');
      assert.equal(inflater.idle, false);
      inflater.written();
      heard.forEach((h, i) => {
        assert.deepEqual(h.ended, { length: messages[i]!.length, error: null, badUtf8: false });
        assert.equal(h.data, messages[i]!.toString());
      });
      assert.equal(inflater.idle, true);
      inflater.close();
    });
  }

  test('the UTF-8 check of text sees every inflated message, and binary is not checked', () => {
    const inflater = new LaterInflater({ windowBits: 15, noContextTakeover: false });
    const texts = [Buffer.from('{"plain":"ascii"}'), Buffer.from('{"euro":"€"}'), Buffer.from([0x7b, 0x22, 0xc3, 0x22, 0x7d]), Buffer.from([0x7b, 0x22, 0xc3, 0x22, 0x7d]), Buffer.from('{"again":1}')];
    const heard = compressAll(texts).map((c, i) => {
      const answer = new Heard();
      inflater.begin(1024, i !== 3);
      wholeFrame(inflater, c);
      inflater.endFrameTo(true, answer);
      return answer;
    });
    inflater.written();
    assert.deepEqual(
      heard.map((h) => h.ended!.badUtf8),
      [false, false, true, false, false],
    );
    inflater.close();
  });

  test('a message in several frames over several chunks; the cap keeps the first bytes and counts all', () => {
    const text = Buffer.from('0123456789'.repeat(10_000));
    const [c] = compressAll([text]);
    const inflater = new LaterInflater({ windowBits: 15, noContextTakeover: false });
    const first = new Heard();
    const second = new Heard();
    inflater.begin(25, true);
    const cut = Math.floor(c!.length / 2);
    inflater.write(c!.subarray(0, 3));
    inflater.written(); // a chunk ends inside the frame: its output is held until the frame ends
    inflater.write(c!.subarray(3, cut));
    inflater.endFrameTo(false, first);
    inflater.write(c!.subarray(cut));
    inflater.written();
    assert.equal(first.ended!.error, null);
    inflater.endFrameTo(true, second);
    inflater.written();
    assert.equal(first.ended!.length + second.ended!.length, text.length);
    assert.equal(first.data + second.data, text.subarray(0, 25).toString());
    assert.equal(second.ended!.badUtf8, false);
    inflater.close();
  });

  test('a message that ends its deflate stream with a final block (BFINAL) is answered at once, and so are those after it', () => {
    // RFC 7692 §7.2.3.4: a sender may end each message with a final block, as deflateRawSync does.
    // zlib then leaves the §7.2.2 tail unread; taken for a turn's budget running out, it was
    // retried on every turn of the event loop, forever, and the frame never answered.
    const inflater = new LaterInflater({ windowBits: 15, noContextTakeover: false });
    const texts = ['hello', '{"second":"message"}', 'third, on a new stream too'];
    const heard = texts.map((t, i) => {
      const answer = new Heard();
      inflater.begin(1024, true);
      const c = zlib.deflateRawSync(t);
      if (i === 1) inflater.write(c);
      else wholeFrame(inflater, c);
      inflater.endFrameTo(true, answer);
      return answer;
    });
    inflater.written();
    assert.equal(inflater.idle, true, 'every frame answered in this turn');
    assert.deepEqual(heard.map((h) => [h.data, h.ended]), texts.map((t) => [t, { length: t.length, error: null, badUtf8: false }]));
    // A sync-flushed message after them, from a compressor of its own, inflates too.
    const [after] = compressAll([Buffer.from('sync-flushed')]);
    const last = new Heard();
    inflater.begin(1024, true);
    wholeFrame(inflater, after!);
    inflater.endFrameTo(true, last);
    inflater.written();
    assert.equal(last.data, 'sync-flushed');
    inflater.close();
  });

  test('bad data is an error; the next message inflates on a fresh context', async () => {
    const inflater = new LaterInflater({ windowBits: 15, noContextTakeover: false });
    inflater.begin(100, false);
    inflater.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x11]));
    const bad = inflater.endFrame(true);
    const [fresh] = compressAll([Buffer.from('fine again')]);
    inflater.begin(100, false);
    inflater.write(fresh!);
    const good = inflater.endFrame(true);
    inflater.written();
    const [b, g]: InflatedPart[] = await Promise.all([bad, good]);
    assert.ok(b!.error instanceof Error);
    assert.equal(g!.error, null);
    assert.equal(g!.data.toString(), 'fine again');
    inflater.close();
  });

  test('a bomb is sliced over turns of the event loop, counted exactly, and the context survives it', async () => {
    const size = 64 * 1024 * 1024;
    const [bomb, after] = compressAll([Buffer.alloc(size), Buffer.from('after the bomb')]);
    const inflater = new LaterInflater({ windowBits: 15, noContextTakeover: false });
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    try {
      inflater.begin(64 * 1024, false);
      inflater.write(bomb!);
      const part = inflater.endFrame(true);
      inflater.begin(64 * 1024, true);
      inflater.write(after!);
      const next = inflater.endFrame(true);
      inflater.written();
      assert.equal(inflater.idle, false, 'the rest waits for later turns');
      const [p, n] = await Promise.all([part, next]);
      assert.equal(p.length, size);
      assert.equal(p.data.length, 64 * 1024);
      assert.equal(n.data.toString(), 'after the bomb');
      assert.ok(turns >= 4, `timers ran ${turns} times while ${size / TURN_BUDGET} MiB inflated`);
    } finally {
      clearInterval(ticker);
      inflater.close();
    }
  });

  test('compressed input queued past its bound asks for the sender to pause, then to resume', async () => {
    const noise = noiseBytes(3 * 1024 * 1024);
    const [c] = compressAll([noise]);
    const inflater = new LaterInflater({ windowBits: 15, noContextTakeover: false });
    const calls: boolean[] = [];
    inflater.hooks = { backlog: (over) => void calls.push(over) };
    inflater.begin(16, false);
    // In pieces, as a long frame streams in: counted before the frame ends (a frame may be any size).
    for (let at = 0; at < c!.length; at += 64 * 1024) inflater.write(c!, at, Math.min(c!.length, at + 64 * 1024));
    assert.deepEqual(calls, [true]);
    const part = inflater.endFrame(true);
    assert.equal(inflater.backlogged, true);
    inflater.written();
    assert.equal((await part).length, noise.length);
    assert.deepEqual(calls, [true, false]);
    inflater.close();
  });

  test('closing still answers the frames already ended, then frees the context', async () => {
    const size = 16 * 1024 * 1024;
    const [big] = compressAll([Buffer.alloc(size, 'a')]);
    const inflater = new LaterInflater({ windowBits: 15, noContextTakeover: false });
    inflater.begin(10, false);
    inflater.write(big!);
    const part = inflater.endFrame(true);
    inflater.close();
    const p = await part;
    assert.equal(p.length, size);
    assert.equal(p.data.toString(), 'aaaaaaaaaa');
  });
});
