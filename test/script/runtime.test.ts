import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { defineScript, type Script, type ScriptFrame, type ScriptMessage, type ScriptSession } from '../../src/script/define-script.js';
import { ScriptRuntime, type FailMode } from '../../src/script/script-interceptor.js';
import { describeScriptError } from '../../src/script/loader.js';
import { Opcode } from '../../src/protocol/constants.js';
import { encodeClosePayload } from '../../src/protocol/close-codes.js';
import { delay, FakeProxy, text, until } from './fake-proxy.js';

let runtimes: ScriptRuntime[] = [];
afterEach(async () => {
  for (const r of runtimes) await r.close();
  runtimes = [];
});

function start(script: Script<any>, opts: { timeoutMs?: number; failMode?: FailMode } = {}): { proxy: FakeProxy; runtime: ScriptRuntime } {
  const proxy = new FakeProxy();
  const runtime = new ScriptRuntime(proxy, script as Script, { timeoutMs: opts.timeoutMs ?? 2000, failMode: opts.failMode ?? 'open', describeError: describeScriptError });
  runtime.start();
  runtimes.push(runtime);
  return { proxy, runtime };
}

describe('onMessage results', () => {
  test('undefined forwards the message unchanged', async () => {
    const { proxy } = start({ onMessage: () => undefined });
    proxy.open(1);
    const r = await proxy.decide(1, 'client', 'text', 'hello');
    assert.equal(r.changedBy, null);
    assert.deepEqual(text(r), ['hello']);
  });

  test('a string replaces, a Buffer keeps the kind, an array splits, ctx.drop() and [] drop', async () => {
    const { proxy } = start({
      onMessage(msg, ctx) {
        switch (msg.text) {
          case 'str':
            return 'replaced';
          case 'buf':
            return Buffer.from('as-bytes');
          case 'split':
            return ['a', { json: { b: 1 } }, { kind: 'binary', data: Uint8Array.of(1, 2) }, { kind: 'ping', data: 'p' }];
          case 'drop':
            return ctx.drop();
          case 'empty':
            return [];
          case 'same':
            return msg.text;
          default:
            return undefined;
        }
      },
    });
    proxy.open(1);
    const str = await proxy.decide(1, 'client', 'text', 'str');
    assert.deepEqual(text(str), ['replaced']);
    assert.equal(str.changedBy, 'script');
    const buf = await proxy.decide(1, 'server', 'binary', 'buf');
    assert.deepEqual(buf.messages.map((m) => m.kind), ['binary']);
    assert.equal(Buffer.from(buf.messages[0]!.data).toString(), 'as-bytes');
    const split = await proxy.decide(1, 'client', 'text', 'split');
    assert.deepEqual(text(split), ['a', '{"b":1}', '<binary 0102>', '<ping 70>']);
    for (const what of ['drop', 'empty']) {
      const r = await proxy.decide(1, 'client', 'text', what);
      assert.equal(r.dropped, true, what);
      assert.equal(r.changedBy, 'script');
    }
    const same = await proxy.decide(1, 'client', 'text', 'same');
    assert.equal(same.changedBy, null, 'returning identical text is no change');
  });

  test('the message object carries session, direction, text, data and json()', async () => {
    let seen: ScriptMessage | null = null;
    const { proxy } = start({
      onMessage(msg) {
        seen = msg;
      },
    });
    proxy.open(7);
    await proxy.decide(7, 'server', 'text', '{"a":[1,2]}', 42);
    const msg = seen as unknown as ScriptMessage;
    assert.equal(msg.id, 42);
    assert.equal(msg.from, 'server');
    assert.equal(msg.to, 'client');
    assert.equal(msg.kind, 'text');
    assert.equal(msg.text, '{"a":[1,2]}');
    assert.deepEqual(msg.json(), { a: [1, 2] });
    assert.ok(Buffer.isBuffer(msg.data));
    assert.equal(msg.session.id, 7);
    assert.equal(msg.session.path, '/chat?room=1');
    assert.equal(msg.session.protocol, 'chat');
    assert.equal(msg.session.request.header('sec-websocket-protocol'), 'chat, superchat');
    assert.equal(msg.session.request.header('X-MULTI'), 'a, b');
    assert.equal(msg.session.response.startLine, 'HTTP/1.1 101 Switching Protocols');
    assert.equal(msg.session.state, 'open');
    const notJson = await (async () => {
      await proxy.decide(7, 'client', 'text', 'not json');
      return (seen as unknown as ScriptMessage).json();
    })();
    assert.equal(notJson, undefined);
  });

  test('an unsupported return value is an error: logged, then fail open', async () => {
    const { proxy } = start({ onMessage: () => 42 as never });
    proxy.open(1);
    const r = await proxy.decide(1, 'client', 'text', 'x');
    assert.equal(r.changedBy, null);
    assert.match(proxy.logText('error'), /onMessage on message \d+ client→server: returned a number \(42\).*forwarded unchanged/);
  });

  test('an oversized ping payload from a hook is refused with a clear message', async () => {
    const { proxy } = start({ onMessage: () => ({ kind: 'ping', data: Buffer.alloc(200) }) });
    proxy.open(1);
    const r = await proxy.decide(1, 'client', 'text', 'x');
    assert.equal(r.changedBy, null);
    assert.match(proxy.logText('error'), /ping payload is 200 bytes; control frames carry at most 125/);
  });
});

describe('faults', () => {
  test('a hook that throws is logged with its stack and the message is forwarded (fail open)', async () => {
    const { proxy } = start({
      onMessage() {
        throw new Error('kaboom');
      },
    });
    proxy.open(1);
    const r = await proxy.decide(1, 'client', 'text', 'keep me');
    assert.deepEqual(text(r), ['keep me']);
    assert.equal(r.changedBy, null);
    const log = proxy.logs.find((l) => l.level === 'error')!;
    assert.equal(log.source, 'script');
    assert.equal(log.session, 1);
    assert.match(log.text, /onMessage threw on message \d+ client→server; forwarded unchanged: Error: kaboom\n\s+at (?:Object\.)?onMessage \(.*runtime\.test\.ts:\d+:\d+\)/);
  });

  test('--script-fail closed drops instead', async () => {
    const { proxy } = start(
      {
        async onMessage() {
          throw new Error('kaboom');
        },
      },
      { failMode: 'closed' },
    );
    proxy.open(1);
    const r = await proxy.decide(1, 'client', 'text', 'x');
    assert.equal(r.dropped, true);
    assert.match(proxy.logText('error'), /dropped \(--script-fail closed\)/);
  });

  test('a hook over the time limit is abandoned: logged, forwarded, its signal aborted', async () => {
    let aborted: unknown = null;
    const { proxy } = start(
      {
        onMessage(_msg, ctx) {
          ctx.signal.addEventListener('abort', () => (aborted = ctx.signal.reason));
          return new Promise(() => undefined);
        },
      },
      { timeoutMs: 100 },
    );
    proxy.open(1);
    const t0 = Date.now();
    const r = await proxy.decide(1, 'client', 'text', 'slow');
    assert.ok(Date.now() - t0 < 1000);
    assert.deepEqual(text(r), ['slow']);
    assert.match(proxy.logText('error'), /onMessage did not finish within 100 ms \(--script-timeout\) on message \d+ client→server; forwarded unchanged/);
    assert.ok(aborted instanceof Error && aborted.name === 'TimeoutError');
  });

  test('a throwing onOpen is logged and messages still flow', async () => {
    const { proxy } = start({
      onOpen() {
        throw new TypeError('bad open');
      },
      onMessage: (m) => m.text.toUpperCase(),
    });
    proxy.open(1);
    assert.deepEqual(text(await proxy.decide(1, 'client', 'text', 'hi')), ['HI']);
    assert.match(proxy.logText('error'), /onOpen threw on session 1 open: TypeError: bad open/);
  });

  test('a throw in a ctx timer is logged, not fatal', async () => {
    const { proxy } = start({
      onOpen(_s, ctx) {
        ctx.setTimeout(() => {
          throw new Error('timer boom');
        }, 5);
      },
    });
    proxy.open(1);
    await until(() => proxy.logText().includes('timer boom'));
    assert.match(proxy.logText('error'), /timer callback threw: Error: timer boom/);
  });
});

describe('ctx', () => {
  test('state is per session, initState creates it, and it survives a swap', async () => {
    const v1 = defineScript({
      initState: (s: ScriptSession) => ({ n: 0, id: s.id }),
      onMessage(msg, ctx) {
        ctx.state.n++;
        return `${ctx.state.id}:${ctx.state.n}:${msg.text}`;
      },
    });
    const { proxy, runtime } = start(v1);
    proxy.open(1);
    proxy.open(2);
    assert.deepEqual(text(await proxy.decide(1, 'client', 'text', 'a')), ['1:1:a']);
    assert.deepEqual(text(await proxy.decide(1, 'client', 'text', 'b')), ['1:2:b']);
    assert.deepEqual(text(await proxy.decide(2, 'client', 'text', 'c')), ['2:1:c']);
    let unloaded = false;
    await runtime.swap({
      onMessage: (msg, ctx) => `v2 ${ctx.state['n'] + 10}:${msg.text}`,
    });
    runtime.script; // the new version is in place
    assert.deepEqual(text(await proxy.decide(1, 'client', 'text', 'd')), ['v2 12:d']);
    await runtime.swap({ onUnload: () => void (unloaded = true) });
    await runtime.swap({});
    assert.equal(unloaded, true);
  });

  test('send injects through the session, validates, and returns false after close (warning once)', async () => {
    const { proxy } = start({
      onOpen(_s, ctx) {
        assert.equal(ctx.send({ to: 'client', text: 'welcome' }), true);
        assert.equal(ctx.send({ to: 'server', data: Uint8Array.of(9) }), true);
        assert.equal(ctx.send({ to: 'server', json: { hello: 1 } }), true);
        assert.equal(ctx.send({ to: 'client', kind: 'ping', data: 'hb' }), true);
        assert.equal(ctx.send({ to: 'client', kind: 'close', code: 4000, reason: 'bye' }), true);
        assert.equal(ctx.send({ to: 'nobody' as 'client', text: 'x' }), false);
        assert.equal(ctx.send({ to: 'client', kind: 'close', code: 1005 }), false);
      },
    });
    const s = proxy.open(1);
    await until(() => s.sent.length === 5);
    assert.deepEqual(
      s.sent.map((r) => [r.to, r.kind, r.data === undefined ? null : Buffer.from(r.data).toString(), r.code ?? null, r.reason ?? null]),
      [
        ['client', 'text', 'welcome', null, null],
        ['server', 'binary', '\t', null, null],
        ['server', 'text', '{"hello":1}', null, null],
        ['client', 'ping', 'hb', null, null],
        ['client', 'close', null, 4000, 'bye'],
      ],
    );
    assert.match(proxy.logText('error'), /ctx\.send failed, nothing sent: ctx\.send: "to" must be 'client' or 'server'/);
    assert.match(proxy.logText('error'), /close code 1005 may not be sent/);
  });

  test('timers started in onOpen inject until the session closes, then stop', async () => {
    let ticks = 0;
    const { proxy } = start({
      onOpen(_s, ctx) {
        ctx.setInterval(() => {
          ticks++;
          ctx.send({ to: 'client', text: `tick ${ticks}` });
        }, 20);
      },
    });
    const s = proxy.open(1);
    await until(() => s.sent.length >= 3);
    proxy.end(1);
    const after = ticks;
    await delay(80);
    assert.equal(ticks, after);
    assert.deepEqual(s.sent.slice(0, 3).map((r) => Buffer.from(r.data as Uint8Array).toString()), ['tick 1', 'tick 2', 'tick 3']);
  });

  test('send after the session closed is refused with one warning', async () => {
    let saved: ((n: number) => boolean) | null = null;
    const { proxy } = start({
      onOpen(_s, ctx) {
        saved = (n) => ctx.send({ to: 'client', text: String(n) });
      },
    });
    proxy.open(1);
    await delay(5);
    proxy.end(1);
    assert.equal(saved!(1), false);
    assert.equal(saved!(2), false);
    assert.equal(proxy.logs.filter((l) => l.level === 'warn' && /ctx\.send after session 1 closed/.test(l.text)).length, 1);
  });

  test('close, log, warn and error', async () => {
    const { proxy } = start({
      onMessage(msg, ctx) {
        ctx.log('got', msg.text, { n: 1 });
        ctx.warn('careful');
        ctx.error('bad');
        ctx.close(4001, 'enough');
      },
    });
    const s = proxy.open(3);
    await proxy.decide(3, 'client', 'text', 'hi');
    assert.deepEqual(s.closedWith, { code: 4001, reason: 'enough' });
    const mine = proxy.logs.filter((l) => l.source === 'script').map((l) => [l.session, l.level, l.text]);
    assert.deepEqual(mine, [
      [3, 'info', 'got hi { n: 1 }'],
      [3, 'warn', 'careful'],
      [3, 'error', 'bad'],
    ]);
  });

  test('ctx functions work when destructured', async () => {
    const { proxy } = start({
      onMessage(_m, { drop, log }) {
        log('destructured');
        return drop();
      },
    });
    proxy.open(1);
    assert.equal((await proxy.decide(1, 'client', 'text', 'x')).dropped, true);
  });
});

describe('lifecycle', () => {
  test('an async onOpen finishes before the first onMessage of its session', async () => {
    const order: string[] = [];
    const { proxy } = start({
      async onOpen(_s, ctx) {
        await delay(50);
        ctx.state['ready'] = true;
        order.push('open');
      },
      onMessage(msg, ctx) {
        order.push(`msg ${msg.text} ready=${String(ctx.state['ready'])}`);
      },
    });
    proxy.open(1);
    await proxy.decide(1, 'client', 'text', 'first');
    assert.deepEqual(order, ['open', 'msg first ready=true']);
  });

  test('onClose gets the close info and the state; refused handshakes are not sessions', async () => {
    const closes: unknown[] = [];
    const opens: number[] = [];
    const { proxy } = start({
      initState: () => ({ count: 0 }),
      onOpen: (s) => void opens.push(s.id),
      onMessage(_m, ctx) {
        ctx.state.count++;
      },
      onClose(session, info, ctx) {
        closes.push({ id: session.id, code: info.code, reason: info.reason, by: info.by, clean: info.clean, count: ctx.state.count, state: session.state });
      },
    });
    proxy.open(4);
    proxy.open(5, { status: 403 });
    await proxy.decide(4, 'client', 'text', 'a');
    await proxy.decide(4, 'server', 'text', 'b');
    proxy.end(4, { code: 1001, reason: 'going', by: 'server', clean: false });
    proxy.end(5);
    await until(() => closes.length === 1);
    await delay(20);
    assert.deepEqual(opens, [4]);
    assert.deepEqual(closes, [{ id: 4, code: 1001, reason: 'going', by: 'server', clean: false, count: 2, state: 'closed' }]);
  });

  test('streamed messages are reported to the log and to onStreamed', async () => {
    const seen: unknown[] = [];
    const { proxy, runtime } = start({
      onMessage: () => undefined,
      onStreamed(info) {
        seen.push({ from: info.from, to: info.to, kind: info.kind, length: info.length, session: info.session.id });
      },
    });
    proxy.open(2);
    runtime.interceptor.streamed!({ session: 2, from: 'server', kind: 'binary' }, 20_000_000);
    await until(() => seen.length === 1);
    assert.deepEqual(seen, [{ from: 'server', to: 'client', kind: 'binary', length: 20_000_000, session: 2 }]);
    assert.match(proxy.logText('info'), /binary message server→client of 20000000\+ bytes is over --max-message: streamed through unmodified/);
  });

  test('wants() follows the hooks of the current version', async () => {
    const { runtime } = start({ onMessage: () => undefined });
    const meta = (kind: 'text' | 'ping') => ({ session: 1, from: 'client' as const, kind });
    assert.equal(runtime.interceptor.wants(meta('text')), true);
    assert.equal(runtime.interceptor.wants(meta('ping')), false);
    await runtime.swap({ onFrame: () => undefined });
    assert.equal(runtime.interceptor.wants(meta('text')), false);
    assert.equal(runtime.interceptor.wants(meta('ping')), true);
    await runtime.close();
    assert.equal(runtime.interceptor.wants(meta('ping')), false);
  });

  test('close() leaves the chain', async () => {
    const { proxy, runtime } = start({ onMessage: () => 'x' });
    assert.equal(proxy.interceptors.length, 1);
    await runtime.close();
    assert.equal(proxy.interceptors.length, 0);
  });
});

describe('onFrame', () => {
  test('control frames are decided with their full record: drop pings, rewrite a pong, change a close', async () => {
    const frames: ScriptFrame[] = [];
    const { proxy } = start({
      onFrame(frame, ctx) {
        frames.push(frame);
        if (frame.kind === 'ping') return ctx.drop();
        if (frame.kind === 'pong') return Buffer.from('changed');
        if (frame.kind === 'close') return { kind: 'close', code: 4002, reason: 'rewritten' };
        return undefined;
      },
    });
    proxy.open(1);
    const ping = proxy.frame(1, 'client', { kind: 'ping', opcode: Opcode.Ping, payload: Buffer.from('hb') });
    const r1 = await proxy.decide(1, 'client', 'ping', 'hb', ping.id);
    assert.equal(r1.dropped, true);
    assert.equal(frames[0]!.masked, true);
    assert.deepEqual([...frames[0]!.maskKey!], [1, 2, 3, 4]);
    assert.equal(frames[0]!.text, 'hb');
    assert.equal(frames[0]!.to, 'server');
    const pong = proxy.frame(1, 'server', { kind: 'pong', opcode: Opcode.Pong, payload: Buffer.from('x') });
    const r2 = await proxy.decide(1, 'server', 'pong', 'x', pong.id);
    assert.deepEqual(text(r2), ['<pong 6368616e676564>']);
    const r3 = await proxy.decide(1, 'server', 'close', encodeClosePayload(1000, 'ok'));
    assert.deepEqual(r3.messages.map((m) => m.kind), ['close']);
    assert.deepEqual([...r3.messages[0]!.data.subarray(0, 2)], [0x0f, 0xa2]);
    assert.deepEqual(frames[2]!.close, { code: 1000, reason: 'ok' }, 'a frame without a bus record is rebuilt from the held bytes');
  });

  test('data frames are observed from the bus, with their flags; a return value there is ignored with a warning', async () => {
    const seen: string[] = [];
    const { proxy } = start({
      onFrame(frame) {
        seen.push(`${frame.kind} fin=${frame.fin} rsv1=${frame.rsv1} ${frame.text}`);
        return 'ignored';
      },
    });
    proxy.open(1);
    proxy.frame(1, 'client', { kind: 'text', opcode: Opcode.Text, fin: false, payload: Buffer.from('hel') });
    proxy.frame(1, 'client', { kind: 'continuation', opcode: Opcode.Continuation, fin: true, payload: Buffer.from('lo') });
    proxy.frame(1, 'client', { kind: 'text', opcode: Opcode.Text, origin: 'injected', payload: Buffer.from('not a peer frame') });
    await until(() => seen.length === 2);
    await delay(10);
    assert.deepEqual(seen, ['text fin=false rsv1=false hel', 'continuation fin=true rsv1=false lo']);
    assert.equal(proxy.logs.filter((l) => l.level === 'warn' && /only ping, pong and close frames can be changed/.test(l.text)).length, 1);
  });
});
