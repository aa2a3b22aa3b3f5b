/**
 * --pcap against real peers, read back with tshark: every frame of both legs decoded with its
 * opcode, FIN, mask bit and key and unmasked payload (a fragmented message with a ping between
 * its fragments, a 70,000-byte frame, a close with code and reason, the inflated text of a
 * compressed message), checksums good, injected frames commented, and a 256 MiB frame streamed
 * through without the writer holding it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { closed, openWs, startProxy } from '../helpers/proxy-harness.js';
import { buildFrame, KEY_A, KEY_B, patternBytes } from '../helpers/frames.js';
import { rawHandshake, until } from '../helpers/raw-peer.js';
import { attachPcap, MAX_SEGMENT } from '../../src/export/pcap-writer.js';
import { messages, startSlowPongEcho } from './peers.js';
import { HAVE_TSHARK, tsharkFields } from './tshark.js';

const FIELDS = ['frame.interface_id', 'websocket.opcode', 'websocket.fin', 'websocket.mask', 'websocket.masking_key', 'websocket.payload.text', 'websocket.payload.ping', 'websocket.payload.pong', 'websocket.payload.close.status_code', 'websocket.payload.close.reason', 'data.data'];

interface WsFrame {
  readonly iface: number;
  readonly opcode: number;
  readonly fin: boolean;
  readonly masked: boolean;
  readonly key: string;
  readonly text: string;
  readonly ping: string;
  readonly pong: string;
  readonly code: string;
  readonly reason: string;
  readonly data: string;
}

/** Every WebSocket frame tshark decodes, one per frame (a packet may hold several). */
function wsFrames(file: string): WsFrame[] {
  const out: WsFrame[] = [];
  for (const row of tsharkFields(file, 'websocket', FIELDS)) {
    const [iface, opcodes, fins, masks, keys, text, ping, pong, code, reason, data] = row.map((c) => c ?? '');
    const ops = opcodes!.split('|');
    const keyList = keys!.split('|');
    let k = 0;
    ops.forEach((op, i) => {
      const masked = masks!.split('|')[i] === '1';
      out.push({
        iface: Number(iface),
        opcode: Number(op),
        fin: fins!.split('|')[i] === '1',
        masked,
        key: masked ? keyList[k++]! : '',
        // Per-frame payload columns are per packet; the assertions below pick frames whose packet holds one kind.
        text: text!,
        ping: ping!,
        pong: pong!,
        code: code!,
        reason: reason!,
        data: data!,
      });
    });
  }
  return out;
}

const tmpFile = (): { dir: string; file: string } => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproxy-pcap-'));
  return { dir, file: path.join(dir, 'out.pcapng') };
};

test('tshark decodes every frame of both legs: fragments around a ping, 70,000 bytes, a close with code and reason', { timeout: 60_000 }, async (t) => {
  if (!HAVE_TSHARK) return t.skip('tshark is not installed');
  const server = await startSlowPongEcho({ pongDelayMs: 0 });
  const h = await startProxy(server.port);
  const { dir, file } = tmpFile();
  const pcap = attachPcap(h.proxy.bus, { out: fs.createWriteStream(file), endStream: true, proxyAddress: h.proxy.listening });
  try {
    const { client } = await rawHandshake(h.port, { path: '/raw' });
    const big = patternBytes(70_000);
    await client.write(buildFrame({ opcode: 1, fin: false, payload: 'frag-one ', maskKey: KEY_A }));
    await client.write(buildFrame({ opcode: 9, payload: 'mid', maskKey: KEY_B }));
    await client.write(buildFrame({ opcode: 0, fin: true, payload: 'frag-two', maskKey: KEY_A }));
    await until(() => h.frames.filter((f) => f.from === 'server').length >= 2, 3000, 'the echo and the pong');
    await client.write(buildFrame({ opcode: 2, payload: big, maskKey: KEY_B }));
    await until(() => h.frames.filter((f) => f.from === 'server' && f.kind === 'binary').length === 1, 3000, 'the binary echo');
    // Something the proxy writes itself, to be commented in the capture.
    h.proxy.session(1)!.send({ to: 'client', kind: 'text', data: 'from the proxy' });
    await until(() => h.frames.some((f) => f.origin === 'injected'), 3000, 'the injected frame');
    // Two at once: the second's record comes while the first's packet is the latest that way.
    h.proxy.session(1)!.send({ to: 'server', kind: 'text', data: 'to the server' });
    h.proxy.session(1)!.send({ to: 'server', kind: 'text', data: 'and again' });
    await until(() => h.frames.filter((f) => f.origin === 'injected').length === 3, 3000, 'the injected frames to the server');
    await until(() => h.frames.some((f) => f.from === 'server' && f.kind === 'text' && Buffer.from(f.payload).toString() === 'and again'), 3000, 'their echo');
    await client.write(buildFrame({ opcode: 8, payload: Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye now')]), maskKey: KEY_A }));
    await h.waitClose(1);
    client.socket.destroy();
    await pcap.close();

    const frames = wsFrames(file);
    const leg = (iface: number): WsFrame[] => frames.filter((f) => f.iface === iface);
    // Interface 0: client leg; 1: server leg. The client's own keys on the first, the proxy's on the second.
    const clientSent = leg(0).filter((f) => f.masked);
    const proxySent = leg(1).filter((f) => f.masked);
    assert.deepEqual(clientSent.map((f) => [f.opcode, f.fin, f.key]), [
      [1, false, '01020304'],
      [9, true, 'deadbeef'],
      [0, true, '01020304'],
      [2, true, 'deadbeef'],
      [8, true, '01020304'],
    ]);
    // (The proxy's server leg also carries the text it injected toward the server.)
    assert.deepEqual(proxySent.map((f) => [f.opcode, f.fin]), [[1, false], [9, true], [0, true], [2, true], [1, true], [1, true], [8, true]]);
    for (const f of proxySent) assert.notEqual(f.key, '01020304', 'the proxy re-masks with its own keys');
    // Unmasked payloads as tshark shows them.
    assert.equal(clientSent[0]!.text, 'frag-one frag-two');
    assert.equal(clientSent[0]!.ping, Buffer.from('mid').toString('hex'));
    assert.equal(clientSent[3]!.data, big.toString('hex'));
    assert.equal(proxySent[3]!.data, big.toString('hex'));
    assert.deepEqual([clientSent[4]!.code, clientSent[4]!.reason], ['4000', 'bye now']);
    assert.deepEqual([proxySent[4]!.text, proxySent[5]!.text], ['to the server', 'and again']);
    assert.deepEqual([proxySent[6]!.code, proxySent[6]!.reason], ['4000', 'bye now']);
    // The server's frames, unmasked, on both legs.
    for (const iface of [0, 1]) {
      const fromServer = leg(iface).filter((f) => !f.masked);
      assert.deepEqual(fromServer.map((f) => f.opcode).filter((o) => o !== 1 || true).sort(), (iface === 0 ? [1, 1, 1, 1, 2, 8, 10] : [1, 1, 1, 2, 8, 10]).sort());
      assert.ok(fromServer.some((f) => f.opcode === 8 && f.code === '4000' && f.reason === 'bye now'));
      assert.ok(fromServer.some((f) => f.opcode === 2 && f.data === big.toString('hex')));
    }
    // Segments of at most 64 KiB; TCP and IP checksums verified good; one interface per leg.
    const tcp = tsharkFields(file, 'tcp', ['frame.interface_id', 'tcp.len', 'tcp.checksum.status', 'ip.checksum.status', 'tcp.flags.str'], ['tcp.check_checksum:TRUE', 'ip.check_checksum:TRUE']);
    assert.ok(tcp.every((r) => Number(r[1]) <= MAX_SEGMENT && Number(r[1]) <= 65536));
    assert.ok(tcp.some((r) => Number(r[1]) === MAX_SEGMENT), 'the 70,000-byte frame spans segments');
    assert.ok(tcp.every((r) => r[2] === '1' && r[3] === '1'), 'every checksum is good');
    assert.deepEqual([...new Set(tcp.map((r) => r[0]))].sort(), ['0', '1']);
    // No analysis warnings: sequence numbers and acks line up.
    assert.deepEqual(tsharkFields(file, 'tcp.analysis.flags', ['frame.number']), []);
    // The injected frame is commented with its id; the real server port is in the SYN's comment.
    const [injected, toServer, again] = h.frames.filter((f) => f.origin === 'injected');
    const comments = tsharkFields(file, 'frame.comment', ['frame.interface_id', 'frame.comment', 'websocket.payload.text']);
    // Each on the packet that carries it (its record comes just before its bytes are written).
    assert.ok(comments.some((r) => r[0] === '0' && r[1]!.includes(`frame ${injected!.id} text injected`) && r[2] === 'from the proxy'), JSON.stringify(comments));
    assert.ok(comments.some((r) => r[0] === '1' && r[1] === `frame ${toServer!.id} text injected by the proxy` && r[2] === 'to the server'), JSON.stringify(comments));
    assert.ok(comments.some((r) => r[0] === '1' && r[1] === `frame ${again!.id} text injected by the proxy` && r[2] === 'and again'), JSON.stringify(comments));
    assert.ok(comments.some((r) => r[0] === '1' && r[1]!.includes(`127.0.0.1:${server.port}`)));
    // Both legs end with FIN.
    assert.equal(tcp.filter((r) => r[4]!.includes('F')).length, 4);
  } finally {
    await pcap.close();
    await h.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('tshark shows the inflated text of a permessage-deflate message on both legs', { timeout: 60_000 }, async (t) => {
  if (!HAVE_TSHARK) return t.skip('tshark is not installed');
  const server = await startSlowPongEcho({ deflate: true });
  const h = await startProxy(server.port);
  const { dir, file } = tmpFile();
  const pcap = attachPcap(h.proxy.bus, { out: fs.createWriteStream(file), endStream: true, proxyAddress: h.proxy.listening });
  try {
    const ws = await openWs(`${h.url}/deflate`, { perMessageDeflate: { threshold: 0 } });
    const text = 'compressed text, compressed text, compressed text';
    const got = messages(ws, 1);
    ws.send(text);
    await got;
    const done = closed(ws);
    ws.close(1000);
    await done;
    await h.waitClose(1);
    await pcap.close();
    const rows = tsharkFields(file, 'websocket.opcode == 1', ['frame.interface_id', 'websocket.pmc', 'websocket.mask', 'websocket.payload.text']);
    // Client → proxy, proxy → server, server → proxy, proxy → client: compressed on the wire, shown inflated.
    assert.equal(rows.length, 4);
    for (const r of rows) assert.deepEqual(r.slice(1), [r[1], r[2], text]);
    assert.ok(rows.every((r) => r[1] === '1'), 'every one compressed (RSV1)');
  } finally {
    await pcap.close();
    await h.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a 256 MiB frame streams through to the capture without the writer holding it', { timeout: 120_000 }, async () => {
  const size = 256 * 1024 * 1024;
  let received = -1;
  // The server receives it (and answers nothing); the client streams it in 1 MiB writes.
  const server = await startSlowPongEcho({ onMessage: (data) => (received = data.length) });
  const h = await startProxy(server.port, { limits: { maxPreview: 1024, maxMessage: 1024 * 1024 } });
  let written = 0;
  let peakQueued = 0;
  const sink = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _enc, done) {
      written += chunk.length;
      setImmediate(done);
    },
  });
  const pcap = attachPcap(h.proxy.bus, { out: sink, endStream: true, proxyAddress: h.proxy.listening, maxBuffered: 16 * 1024 * 1024 });
  const { client } = await rawHandshake(h.port);
  try {
    const sampler = setInterval(() => (peakQueued = Math.max(peakQueued, sink.writableLength)), 2);
    // KEY_ZERO-style all-zero key: the masked payload is the payload.
    const header = buildFrame({ opcode: 2, payload: Buffer.alloc(0), maskKey: Buffer.alloc(4), declaredLength: size });
    client.socket.write(header);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    for (let sent = 0; sent < size; sent += chunk.length) {
      if (!client.socket.write(chunk)) await new Promise((resolve) => client.socket.once('drain', resolve));
    }
    await until(() => received === size, 60_000, 'the server to receive the whole frame');
    clearInterval(sampler);
    client.socket.destroy();
    await h.waitClose(1, 5000);
    await pcap.close();
    // Two crossings (client → proxy, proxy → server): each in the capture, or counted as dropped.
    assert.ok(written + pcap.dropped * MAX_SEGMENT >= 2 * size, `captured ${written} bytes, ${pcap.dropped} packets dropped`);
    // The writer never queued more than its bound plus one batch: the frame went through, not into memory.
    assert.ok(peakQueued <= 16 * 1024 * 1024 + 2 * 1024 * 1024, `queued at most ${peakQueued}`);
  } finally {
    client.socket.destroy();
    await pcap.close();
    await h.close();
    await server.close();
  }
});

test('messages a decider dropped or changed are commented in the capture with their ids', { timeout: 60_000 }, async (t) => {
  if (!HAVE_TSHARK) return t.skip('tshark is not installed');
  const server = await startSlowPongEcho();
  const h = await startProxy(server.port);
  h.proxy.use(
    {
      name: 'test',
      wants: (meta) => meta.from === 'client' && meta.kind === 'text',
      decide: (m) => {
        const text = Buffer.from(m.data).toString();
        if (text === 'drop me') return { action: 'drop' };
        if (text === 'change me') return { action: 'replace', messages: [{ kind: 'text', data: Buffer.from('changed') }] };
        return { action: 'forward' };
      },
    },
    10,
  );
  const { dir, file } = tmpFile();
  const pcap = attachPcap(h.proxy.bus, { out: fs.createWriteStream(file), endStream: true, proxyAddress: h.proxy.listening });
  try {
    const ws = await openWs(`${h.url}/decide`);
    ws.send('drop me');
    const got = messages(ws, 2);
    ws.send('change me');
    ws.send('plain');
    const back = await got;
    assert.deepEqual(back.map((m) => m.data.toString()), ['changed', 'plain']);
    const done = closed(ws);
    ws.close();
    await done;
    await h.waitClose(1);
    await pcap.close();
    const dropped = h.messages.find((m) => m.fate === 'dropped')!;
    const modified = h.messages.find((m) => m.fate === 'modified')!;
    const modifiedFrame = h.frames.find((f) => f.origin === 'modified')!;
    const comments = tsharkFields(file, 'frame.comment', ['frame.interface_id', 'frame.comment']).map((r) => `${r[0]} ${r[1]}`);
    assert.ok(comments.some((c) => c.startsWith('0 ') && c.includes(`message ${dropped.id} dropped by test: not relayed`)), JSON.stringify(comments));
    assert.ok(comments.some((c) => c.startsWith('0 ') && c.includes(`message ${modified.id} modified by test`)), JSON.stringify(comments));
    assert.ok(comments.some((c) => c.startsWith('1 ') && c.includes(`frame ${modifiedFrame.id} text modified by the proxy`)), JSON.stringify(comments));
    // What the server got: the changed text, and never the dropped one.
    const toServer = tsharkFields(file, 'frame.interface_id == 1 && websocket.mask == 1 && websocket.opcode == 1', ['websocket.payload.text']).map((r) => r[0]);
    assert.deepEqual(toServer, ['changed', 'plain']);
  } finally {
    await pcap.close();
    await h.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a capture whose output does not keep up drops packets, counts them and says so; the relay goes on', { timeout: 30_000 }, async () => {
  const server = await startSlowPongEcho();
  const h = await startProxy(server.port);
  // An output that takes the first write and then never finishes it.
  const stuck = new Writable({ highWaterMark: 16, write: () => undefined });
  const pcap = attachPcap(h.proxy.bus, { out: stuck, endStream: false, proxyAddress: h.proxy.listening, maxBuffered: 1024 });
  try {
    const ws = await openWs(`${h.url}/stuck`);
    for (let i = 0; i < 20; i++) {
      const got = messages(ws, 1);
      ws.send(`message ${i} ${'x'.repeat(2000)}`);
      await got;
      await new Promise((r) => setTimeout(r, 12));
    }
    ws.terminate();
    await h.waitClose(1);
    const t0 = Date.now();
    await pcap.close();
    assert.ok(Date.now() - t0 < 3000, 'closing does not wait for a stuck reader for long');
    assert.ok(pcap.dropped > 0);
    const note = h.logs.find((l) => l.source === 'pcap');
    assert.ok(note, 'the log says packets were left out');
    assert.match(note.text, /^\d+ packet\(s\) left out of the pcap: its output could not keep up$/);
  } finally {
    await h.close();
    await server.close();
  }
});
