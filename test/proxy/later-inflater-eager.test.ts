/**
 * The inflater run at once (`eager`, what --strict uses; later-inflater.ts), on Node's native
 * handle and on the minizlib fallback: context kept across messages (or reset, RFC 7692 §7.1.1),
 * output past the cap counted and dropped, errors reported and recovered from, and large work
 * sliced over turns of the event loop, in order.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TURN_BUDGET, type Inflated, type InflatedPart } from '../../src/proxy/inflater.js';
import { LaterInflater } from '../../src/proxy/later-inflater.js';
import { compressAll, noise as noiseBytes } from '../helpers/deflate.js';

const now = (part: Inflated): InflatedPart => {
  assert.ok(!(part instanceof Promise), 'inflated on this turn');
  return part;
};

const messages = Array.from({ length: 200 }, (_, i) => Buffer.from(JSON.stringify({ type: 'tick', seq: i, px: (100 + ((i * 7919) % 1000) / 10).toFixed(2), qty: (i * 31) % 500 })));

for (const fallback of [false, true]) {
  describe(fallback ? 'inflater on minizlib (fallback)' : 'inflater on the native handle', () => {
    for (const reset of [false, true]) {
      test(`messages inflate on the same turn, ${reset ? 'no context takeover' : 'context takeover'}`, () => {
        const inflater = new LaterInflater({ windowBits: 15, noContextTakeover: reset }, { eager: true, fallback });
        const compressed = compressAll(messages, reset);
        compressed.forEach((c, i) => {
          inflater.begin(1024, false);
          inflater.write(c);
          const part = now(inflater.endFrame(true));
          assert.equal(part.error, null);
          assert.equal(part.data.toString(), messages[i]!.toString());
          assert.equal(part.length, messages[i]!.length);
        });
        inflater.close();
      });
    }

    test('the UTF-8 check sees every inflated message, ASCII ones checked as they are copied', () => {
      const inflater = new LaterInflater({ windowBits: 15, noContextTakeover: false }, { eager: true, fallback });
      const texts = [Buffer.from('{"plain":"ascii"}'), Buffer.from('{"euro":"€"}'), Buffer.from([0x7b, 0x22, 0xc3, 0x22, 0x7d]), Buffer.from('{"again":1}')];
      const verdicts = compressAll(texts).map((c) => {
        inflater.begin(1024, true);
        inflater.write(c);
        const part = now(inflater.endFrame(true));
        assert.equal(part.error, null);
        return part.badUtf8 !== true;
      });
      assert.deepEqual(verdicts, [true, true, false, true]);
      inflater.close();
    });

    test('a message in several frames and several writes; the cap keeps the first bytes and counts all, and UTF-8 is checked past it', () => {
      for (const bad of [false, true]) {
        // Not UTF-8 only in its last byte, far past the 25 kept: the check still sees it.
        const text = Buffer.concat([Buffer.from('0123456789'.repeat(1000)), Buffer.from(bad ? [0xc3] : [0x21])]);
        const [c] = compressAll([text]);
        const inflater = new LaterInflater({ windowBits: 15, noContextTakeover: false }, { eager: true, fallback });
        inflater.begin(25, true);
        const cut = Math.floor(c!.length / 2);
        inflater.write(c!.subarray(0, 3));
        inflater.write(c!.subarray(3, cut));
        const first = now(inflater.endFrame(false));
        inflater.write(c!.subarray(cut));
        const second = now(inflater.endFrame(true));
        assert.equal(first.length + second.length, text.length);
        assert.equal(Buffer.concat([first.data, second.data]).toString(), text.subarray(0, 25).toString());
        assert.equal(second.badUtf8, bad);
        inflater.close();
      }
    });

    test('bad data is an error; the next message inflates on a fresh context', () => {
      const inflater = new LaterInflater({ windowBits: 15, noContextTakeover: false }, { eager: true, fallback });
      inflater.begin(100, false);
      inflater.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x11]));
      const bad = now(inflater.endFrame(true));
      assert.ok(bad.error instanceof Error);
      const [fresh] = compressAll([Buffer.from('fine again')]);
      inflater.begin(100, false);
      inflater.write(fresh!);
      const good = now(inflater.endFrame(true));
      assert.equal(good.error, null);
      assert.equal(good.data.toString(), 'fine again');
      inflater.close();
    });

    test('a bomb is sliced over turns of the event loop, counted exactly, and the context survives it', async () => {
      const size = 64 * 1024 * 1024;
      const [bomb, after] = compressAll([Buffer.alloc(size), Buffer.from('after the bomb')]);
      const inflater = new LaterInflater({ windowBits: 15, noContextTakeover: false }, { eager: true, fallback });
      let backlog = 0;
      inflater.hooks = { backlog: (over) => void (over && backlog++) };
      let turns = 0;
      const ticker = setInterval(() => turns++, 0);
      try {
        inflater.turn();
        inflater.begin(64 * 1024, false);
        inflater.write(bomb!);
        const part = inflater.endFrame(true);
        assert.ok(part instanceof Promise, 'the rest waits for later turns');
        // Later frames wait behind it, in order.
        inflater.begin(64 * 1024, false);
        inflater.write(after!);
        const next = inflater.endFrame(true);
        assert.ok(next instanceof Promise);
        const [p, n] = await Promise.all([part, next]);
        assert.equal(p.length, size);
        assert.equal(p.data.length, 64 * 1024);
        assert.equal(n.data.toString(), 'after the bomb');
        assert.ok(turns >= 4, `timers ran ${turns} times while ${size / TURN_BUDGET} MiB inflated`);
        assert.equal(backlog, 0, 'a 64 KiB backlog is under the bound: the sender is not paused');
        // Once caught up, the work is synchronous again.
        inflater.turn();
        const [, , third] = compressAll([Buffer.alloc(size), Buffer.from('after the bomb'), Buffer.from('again')]);
        inflater.begin(100, false);
        inflater.write(third!);
        assert.equal(now(inflater.endFrame(true)).data.toString(), 'again');
      } finally {
        clearInterval(ticker);
        inflater.close();
      }
    });

    test('compressed input waiting for later turns past its bound asks for the sender to pause, then to resume', async () => {
      const noise = noiseBytes(3 * 1024 * 1024);
      const [c] = compressAll([noise]);
      const inflater = new LaterInflater({ windowBits: 15, noContextTakeover: false }, { eager: true, fallback });
      const calls: boolean[] = [];
      inflater.hooks = { backlog: (over) => void calls.push(over) };
      inflater.turn();
      inflater.begin(16, false);
      inflater.write(c!);
      const part = inflater.endFrame(true);
      assert.deepEqual(calls, [true]);
      assert.equal(inflater.backlogged, true);
      assert.equal((await part).length, noise.length);
      assert.deepEqual(calls, [true, false]);
      inflater.close();
    });

    test('closing while work waits still finishes the frames already ended', async () => {
      const size = 16 * 1024 * 1024;
      const [big] = compressAll([Buffer.alloc(size, 'a')]);
      const inflater = new LaterInflater({ windowBits: 15, noContextTakeover: false }, { eager: true, fallback });
      inflater.turn();
      inflater.begin(10, false);
      inflater.write(big!);
      const part = inflater.endFrame(true);
      inflater.close();
      const p = await part;
      assert.equal(p.length, size);
      assert.equal(p.data.toString(), 'aaaaaaaaaa');
    });
  });
}
