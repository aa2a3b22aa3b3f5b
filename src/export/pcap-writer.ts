/**
 * --pcap FILE|-: every session as two synthetic TCP connections in a pcapng stream, written as it
 * happens. Each leg (client↔proxy, proxy↔target) is its own interface, so both the client's mask
 * keys and the proxy's new ones are there. A leg starts with a three-way handshake, carries the
 * handshake heads and then exactly the bytes that crossed that socket (wire events), in segments
 * of at most 64 KiB with correct sequence numbers and checksums, and ends with FIN (or RST when
 * the connection was lost without a close frame).
 *
 * Wireshark hands a TCP stream to its WebSocket dissector when the HTTP dissector sees the 101 on
 * a port it treats as HTTP, so the listening side of each leg is shown as port 80; the real
 * addresses are in the interface description and the first packet's comment.
 *
 * Packets are batched and written every few milliseconds; a stream that does not keep up costs
 * dropped packets (counted, and said in the log), never relay memory or time.
 */
import net from 'node:net';
import type { Writable } from 'node:stream';
import { subscribe, type CloseRecord, type FrameRecord, type ProxyBus, type SessionInfo, type Side, type WireRecord } from '../proxy/events.js';
import { interfaceDescription, packetBlock, sectionHeader, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type Endpoint, type Segment } from './pcapng.js';

/** TCP payload per packet: under 64 KiB, so the IPv4 total length and IPv6 payload length fit. */
export const MAX_SEGMENT = 65000;
const FLUSH_MS = 10;
const BATCH_BYTES = 1024 * 1024;
const SHOWN_PORT = 80;
const CLOSE_WAIT_MS = 2000;

export interface PcapWriterOptions {
  readonly out: Writable;
  /** End `out` on close (a file), or leave it open (stdout). */
  readonly endStream: boolean;
  /** The proxy's listening address, "host:port". */
  readonly proxyAddress: string;
  /** Bytes the stream may hold unwritten before packets are dropped. */
  readonly maxBuffered?: number;
}

export interface PcapWriter {
  /** Packets dropped so far because the stream could not keep up. */
  readonly dropped: number;
  close(): Promise<void>;
}

interface PendingSegment extends Segment {
  comment: string | null;
}

interface Leg {
  readonly interfaceId: number;
  /** A opened the connection (the client; the proxy toward the target), B listened. */
  readonly a: Endpoint;
  readonly b: Endpoint;
  seqA: number;
  seqB: number;
  /** The latest packet each way that has not been written yet (comments attach to it). */
  lastA: PendingSegment | null;
  lastB: PendingSegment | null;
  /** A comment for the next packet each way, when the one it belongs to is already written. */
  noteA: string | null;
  noteB: string | null;
}

const MAC_A = Buffer.from([0x02, 0, 0, 0, 0, 0x01]);
const MAC_B = Buffer.from([0x02, 0, 0, 0, 0, 0x02]);

/** "host:port", "[v6]:port" or "v6:port" → host and port. */
export function splitHostPort(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  const host = (i === -1 ? text : text.slice(0, i)).replace(/^\[|\]$/g, '');
  const port = i === -1 ? 0 : Number(text.slice(i + 1));
  return { host, port: Number.isFinite(port) ? port : 0 };
}

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

function ipv6Bytes(ip: string): Buffer {
  let text = ip.replace(/%.*$/, '');
  const out = Buffer.alloc(16);
  // An embedded IPv4 tail (::ffff:127.0.0.1) is two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    const b = ipv4Bytes(v4[1]!);
    text = text.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) & 0xffff, i * 2));
  return out;
}

/**
 * The first bytes a frame the proxy wrote has on the wire: its header (with its fresh mask key
 * toward the server), and when its payload is sent as shown (not masked, not compressed) the
 * first bytes of that too, so that two frames of one kind and length are told apart.
 */
function wireStart(f: FrameRecord): Uint8Array {
  if (f.masked || f.compressed || f.payload.length === 0) return f.header;
  return Buffer.concat([f.header, f.payload.subarray(0, 16)]);
}

/** Whether a packet's payload holds `probe`. */
function holds(segment: PendingSegment, probe: Uint8Array): boolean {
  return segment.payload.some((p) => Buffer.from(p.buffer, p.byteOffset, p.length).indexOf(probe) >= 0);
}

/** Address bytes for a host: its own when it is an IP literal, else a stand-in (the comment names it). */
function ipOf(host: string, standIn: string): Buffer {
  const family = net.isIP(host);
  if (family === 4) return ipv4Bytes(host);
  if (family === 6) return ipv6Bytes(host);
  return ipv4Bytes(standIn);
}

/** Both ends of a leg in one family: IPv4 goes IPv4-mapped when the other end is IPv6. */
function sameFamily(a: Buffer, b: Buffer): [Buffer, Buffer] {
  const mapped = (v4: Buffer): Buffer => Buffer.concat([Buffer.alloc(10), Buffer.from([0xff, 0xff]), v4]);
  if (a.length === b.length) return [a, b];
  return a.length === 4 ? [mapped(a), b] : [a, mapped(b)];
}

export function attachPcap(bus: ProxyBus, options: PcapWriterOptions): PcapWriter {
  const out = options.out;
  const maxBuffered = options.maxBuffered ?? 64 * 1024 * 1024;
  const proxy = splitHostPort(options.proxyAddress);
  const legs = new Map<string, Leg>();
  let nextInterface = 0;
  let pending: (Buffer | PendingSegment)[] = [];
  let pendingBytes = 0;
  let timer: NodeJS.Timeout | null = null;
  let dropped = 0;
  let droppedReported = 0;
  let ended = false;

  const reportDropped = (): void => {
    if (dropped === droppedReported) return;
    bus.emit('log', { session: null, time: Date.now(), source: 'pcap', level: 'warn', text: `${dropped - droppedReported} packet(s) left out of the pcap: its output could not keep up` });
    droppedReported = dropped;
  };

  const flush = (): void => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    pendingBytes = 0;
    for (const leg of legs.values()) leg.lastA = leg.lastB = null;
    if (out.writableLength > maxBuffered) {
      // Interface blocks are never dropped: later packets refer to them.
      const idbs = batch.filter((p): p is Buffer => Buffer.isBuffer(p));
      dropped += batch.length - idbs.length;
      if (idbs.length > 0) out.write(Buffer.concat(idbs));
      return;
    }
    reportDropped();
    out.write(Buffer.concat(batch.map((p) => (Buffer.isBuffer(p) ? p : packetBlock(p)))));
  };

  const queue = (item: Buffer | PendingSegment, bytes: number): void => {
    pending.push(item);
    pendingBytes += bytes;
    if (pendingBytes >= BATCH_BYTES) flush();
    else timer ??= setTimeout(flush, FLUSH_MS);
  };

  /** Sends `parts` from A (fromA) or B on a leg, split into segments; returns the last one. */
  const send = (leg: Leg, fromA: boolean, time: number, flags: number, parts: readonly Uint8Array[], comment: string | null = null): void => {
    let total = 0;
    for (const p of parts) total += p.length;
    const micros = Math.round(time * 1000);
    let partIndex = 0;
    let partOffset = 0;
    let left = total;
    let note = comment ?? (fromA ? leg.noteA : leg.noteB);
    if (fromA) leg.noteA = null;
    else leg.noteB = null;
    do {
      const size = Math.min(left, MAX_SEGMENT);
      // One copy: the caller's bytes are only lent (the relay re-masks chunks in place).
      const payload = Buffer.allocUnsafe(size);
      let filled = 0;
      while (filled < size) {
        const p = parts[partIndex]!;
        const n = Math.min(p.length - partOffset, size - filled);
        payload.set(p.subarray(partOffset, partOffset + n), filled);
        filled += n;
        partOffset += n;
        if (partOffset === p.length) {
          partIndex++;
          partOffset = 0;
        }
      }
      const seg: PendingSegment = {
        interfaceId: leg.interfaceId,
        micros,
        src: fromA ? leg.a : leg.b,
        dst: fromA ? leg.b : leg.a,
        seq: fromA ? leg.seqA : leg.seqB,
        ack: flags & TCP_ACK ? (fromA ? leg.seqB : leg.seqA) : 0,
        flags: size > 0 ? flags | TCP_PSH : flags,
        payload: [payload],
        payloadLength: size,
        comment: note,
      };
      note = null;
      // SYN and FIN take one sequence number each (RFC 793 §3.3).
      const advance = size + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0);
      if (fromA) {
        leg.seqA = (leg.seqA + advance) >>> 0;
        leg.lastA = seg;
      } else {
        leg.seqB = (leg.seqB + advance) >>> 0;
        leg.lastB = seg;
      }
      queue(seg, size + 100);
      left -= size;
    } while (left > 0);
  };

  const openLeg = (info: SessionInfo, side: Side, a: Endpoint, b: Endpoint, description: string, time: number): Leg => {
    const id = nextInterface++;
    queue(interfaceDescription(`session ${info.session} ${side} leg`, description), 0);
    const isn = (info.session * 0x9e3779b1 + (side === 'client' ? 0 : 0x55555555)) >>> 0;
    const leg: Leg = { interfaceId: id, a, b, seqA: isn, seqB: (isn ^ 0xa5a5a5a5) >>> 0, lastA: null, lastB: null, noteA: null, noteB: null };
    legs.set(`${info.session}:${side}`, leg);
    send(leg, true, time, TCP_SYN, [], description);
    send(leg, false, time, TCP_SYN | TCP_ACK, []);
    send(leg, true, time, TCP_ACK, []);
    return leg;
  };

  const onOpen = (info: SessionInfo): void => {
    const client = splitHostPort(info.client);
    const target = splitHostPort(info.target);
    const [clientIp, proxyIp] = sameFamily(ipOf(client.host, '10.0.0.1'), ipOf(proxy.host, '10.0.0.2'));
    const clientLeg = openLeg(
      info,
      'client',
      { ip: clientIp, port: client.port, mac: MAC_A },
      { ip: proxyIp, port: SHOWN_PORT, mac: MAC_B },
      `session ${info.session}, client leg: ${info.client} → wsproxy ${options.proxyAddress} (shown as port ${SHOWN_PORT})`,
      info.time,
    );
    send(clientLeg, true, info.time, TCP_ACK, [info.request.raw]);
    if (info.answeredBy === 'server') {
      const [fromIp, targetIp] = sameFamily(ipOf(proxy.host, '10.0.0.2'), ipOf(target.host, '10.0.0.3'));
      // The proxy's own port toward the target is not recorded: a stand-in, distinct per session.
      let port = 40000 + (info.session % 20000);
      if (port === client.port) port++;
      const serverLeg = openLeg(
        info,
        'server',
        { ip: fromIp, port, mac: MAC_A },
        { ip: targetIp, port: SHOWN_PORT, mac: MAC_B },
        `session ${info.session}, server leg: wsproxy → ${info.target} (shown as port ${SHOWN_PORT})`,
        info.time,
      );
      send(serverLeg, true, info.time, TCP_ACK, [info.sent.raw]);
      send(serverLeg, false, info.time, TCP_ACK, [info.response.raw]);
    }
    send(clientLeg, false, info.time, TCP_ACK, [info.response.raw]);
  };

  const onWire = (w: WireRecord): void => {
    const leg = legs.get(`${w.session}:${w.leg}`);
    if (leg === undefined) return;
    // The client leg's A is the client (in); the server leg's A is the proxy (out).
    send(leg, (w.leg === 'client') === (w.direction === 'in'), w.time, TCP_ACK, w.bytes);
  };

  /**
   * A comment on the packet that carried (the end of) a frame, or on the next one that way.
   * `probe`: the start of a frame the proxy wrote, whose record may come just before its bytes:
   * the latest packet gets the comment only when it holds them, else the next one does.
   */
  const note = (session: number, legSide: Side, fromA: boolean, text: string, probe: Uint8Array | null = null): void => {
    const leg = legs.get(`${session}:${legSide}`);
    if (leg === undefined) return;
    const last = fromA ? leg.lastA : leg.lastB;
    if (last !== null && (probe === null || holds(last, probe))) last.comment = last.comment === null ? text : `${last.comment}; ${text}`;
    else if (fromA) leg.noteA = leg.noteA === null ? text : `${leg.noteA}; ${text}`;
    else leg.noteB = leg.noteB === null ? text : `${leg.noteB}; ${text}`;
  };

  const onClose = (c: CloseRecord): void => {
    for (const side of ['client', 'server'] as const) {
      const leg = legs.get(`${c.session}:${side}`);
      if (leg === undefined) continue;
      legs.delete(`${c.session}:${side}`);
      // Who ends first on this leg: the peer that closed, else the proxy.
      const aFirst = side === 'client' ? c.by === 'client' : c.by !== 'server';
      if (c.code === null && !c.clean && c.by !== 'proxy' && !c.reason.startsWith('handshake')) {
        send(leg, !aFirst, c.time, TCP_RST | TCP_ACK, [], `connection lost without a close frame (${c.by})`);
        continue;
      }
      send(leg, aFirst, c.time, TCP_FIN | TCP_ACK, []);
      send(leg, !aFirst, c.time, TCP_FIN | TCP_ACK, []);
      send(leg, aFirst, c.time, TCP_ACK, []);
    }
  };

  out.write(sectionHeader('wsproxy'));
  const unsubscribe = subscribe(bus, {
    'session-open': onOpen,
    wire: onWire,
    'session-close': onClose,
    frame: (f) => {
      if (f.origin === 'peer') return;
      // Written by the proxy to the other peer: on the other leg, from the proxy's end.
      const leg = f.from === 'client' ? 'server' : 'client';
      note(f.session, leg, leg === 'server', `frame ${f.id} ${f.kind} ${f.origin} by the proxy`, wireStart(f));
    },
    message: (m) => {
      if (m.fate !== 'dropped' && m.fate !== 'modified') return;
      const by = m.by === null ? '' : ` by ${m.by}`;
      // The peer's original frames arrived on its own leg.
      note(m.session, m.from, m.from === 'client', `message ${m.id} ${m.fate}${by}${m.fate === 'dropped' ? ': not relayed' : ': relayed changed'}`);
    },
  });

  return {
    get dropped() {
      return dropped;
    },
    async close() {
      if (ended) return;
      ended = true;
      unsubscribe();
      flush();
      reportDropped();
      // A reader that stopped reading does not hold up the exit for long.
      await new Promise<void>((resolve) => {
        setTimeout(resolve, CLOSE_WAIT_MS).unref();
        if (options.endStream) out.end(resolve);
        else if (out.writableLength === 0) resolve();
        // (An empty write's callback runs once everything before it is written; 'drain' would
        // come only after a refused write.)
        else out.write(Buffer.alloc(0), () => resolve());
      });
    },
  };
}
