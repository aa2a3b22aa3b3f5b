/**
 * Per-session statistics, built from the same facts the bus and the JSONL log carry: frames,
 * messages, the open and the close. Pure (no IO), so the live proxy, the TUI and `wsproxy stats`
 * (reading a log back) compute the same numbers the same way.
 */
import type { Side } from '../proxy/events.js';
import { PingTracker } from './ping-tracker.js';

/** What a frame contributes; a FrameRecord and a JSONL frame line both provide it. */
export interface FrameFacts {
  readonly time: number;
  readonly from: Side;
  readonly kind: string;
  /** Payload length on the wire. */
  readonly length: number;
  /** Header bytes on the wire, mask key included. */
  readonly headerLength: number;
  readonly masked: boolean;
  readonly compressed: boolean;
  /** Ping/pong payload (control payloads are never cut, §5.5: at most 125 bytes). */
  readonly payload: Uint8Array;
}

export interface MessageFacts {
  readonly time: number;
  readonly from: Side;
  /** Payload length after inflation. */
  readonly length: number;
  readonly compressed: boolean;
  readonly fate: string;
}

export interface CloseFacts {
  readonly time: number;
  readonly code: number | null;
  readonly by: Side | 'proxy';
  readonly clean: boolean;
}

export interface RttStats {
  readonly count: number;
  readonly minMs: number;
  readonly medianMs: number;
  readonly maxMs: number;
  readonly lastMs: number;
}

/** One direction: everything the peer on `from` sent (and frames the proxy sent as that peer). */
export interface DirectionStats {
  readonly messages: number;
  readonly frames: number;
  /** Payload bytes as framed (compressed where compressed). */
  readonly payloadBytes: number;
  /** Header + payload bytes: what crossed the socket. */
  readonly wireBytes: number;
  /** Header bytes, of which mask keys are `maskBytes`. */
  readonly headerBytes: number;
  readonly maskBytes: number;
  /** headerBytes / payloadBytes (null with no payload). */
  readonly overhead: number | null;
  /** permessage-deflate: payload bytes of compressed messages as sent, and after inflation. */
  readonly compressedBytes: number;
  readonly inflatedBytes: number;
  /** compressedBytes / inflatedBytes (null when nothing was compressed). */
  readonly deflateRatio: number | null;
  readonly pings: number;
  readonly pongs: number;
  /** Round trips of the pings this side sent, matched to the other side's pong with the same payload. */
  readonly rtt: RttStats | null;
  readonly unansweredPings: number;
  /** Milliseconds from the open to this side's first data message. */
  readonly firstMessageMs: number | null;
}

/** Fault rules that acted on a session (docs/faults.md), by action. */
export interface FaultStats {
  readonly total: number;
  readonly byAction: { readonly [action: string]: number };
}

export interface SessionStats {
  readonly durationMs: number | null;
  /** Present when fault rules acted on the session. */
  readonly faults?: FaultStats;
  readonly client: DirectionStats;
  readonly server: DirectionStats;
  readonly close: {
    readonly by: Side | 'proxy' | null;
    readonly code: number | null;
    readonly clean: boolean | null;
    /** First close frame to the other side's reply (null: no reply). */
    readonly replyMs: number | null;
    /** First close frame to the end of the connection. */
    readonly handshakeMs: number | null;
  };
}

class Direction {
  messages = 0;
  frames = 0;
  payloadBytes = 0;
  headerBytes = 0;
  maskBytes = 0;
  compressedBytes = 0;
  inflatedBytes = 0;
  pings = 0;
  pongs = 0;
  firstMessage: number | null = null;
  /** Made on the first ping: a proxy may hold thousands of sessions that never send one. */
  pingTracker: PingTracker | null = null;

  snapshot(open: number): DirectionStats {
    return {
      messages: this.messages,
      frames: this.frames,
      payloadBytes: this.payloadBytes,
      wireBytes: this.payloadBytes + this.headerBytes,
      headerBytes: this.headerBytes,
      maskBytes: this.maskBytes,
      overhead: this.payloadBytes === 0 ? null : this.headerBytes / this.payloadBytes,
      compressedBytes: this.compressedBytes,
      inflatedBytes: this.inflatedBytes,
      deflateRatio: this.inflatedBytes === 0 ? null : this.compressedBytes / this.inflatedBytes,
      pings: this.pings,
      pongs: this.pongs,
      rtt: this.pingTracker?.rtt() ?? null,
      unansweredPings: this.pingTracker?.unanswered ?? 0,
      firstMessageMs: this.firstMessage === null ? null : this.firstMessage - open,
    };
  }
}

export class SessionStatsBuilder {
  readonly open: number;
  readonly #dirs: { readonly [S in Side]: Direction } = { client: new Direction(), server: new Direction() };
  #firstClose: { time: number; from: Side } | null = null;
  #replyMs: number | null = null;
  #close: CloseFacts | null = null;
  #faults: Map<string, number> | null = null;

  constructor(openTime: number) {
    this.open = openTime;
  }

  frame(f: FrameFacts): void {
    const d = this.#dirs[f.from];
    d.frames++;
    d.payloadBytes += f.length;
    d.headerBytes += f.headerLength;
    if (f.masked) d.maskBytes += 4;
    if (f.compressed) d.compressedBytes += f.length;
    switch (f.kind) {
      case 'ping':
        d.pings++;
        (d.pingTracker ??= new PingTracker()).ping(f.payload, f.time);
        break;
      case 'pong': {
        d.pongs++;
        // §5.5.3: a pong answers with the ping's application data; it answers the other side's ping.
        this.#dirs[f.from === 'client' ? 'server' : 'client'].pingTracker?.pong(f.payload, f.time);
        break;
      }
      case 'close':
        if (this.#firstClose === null) this.#firstClose = { time: f.time, from: f.from };
        else if (this.#replyMs === null && f.from !== this.#firstClose.from) this.#replyMs = f.time - this.#firstClose.time;
        break;
    }
  }

  message(m: MessageFacts): void {
    this.countMessage(m.from, m.time, m.length, m.compressed);
  }

  /** A message's numbers, without a record of it (the relay skips records nobody reads). */
  countMessage(from: Side, time: number, length: number, compressed: boolean): void {
    const d = this.#dirs[from];
    d.messages++;
    if (compressed) d.inflatedBytes += length;
    d.firstMessage ??= time;
  }

  close(c: CloseFacts): void {
    this.#close = c;
  }

  /** A fault rule acted on the session (a `fault` record). */
  fault(action: string): void {
    this.#faults ??= new Map();
    this.#faults.set(action, (this.#faults.get(action) ?? 0) + 1);
  }

  snapshot(now: number = this.#close?.time ?? this.open): SessionStats {
    const c = this.#close;
    const end = c?.time ?? null;
    let total = 0;
    if (this.#faults !== null) for (const n of this.#faults.values()) total += n;
    return {
      ...(total === 0 ? {} : { faults: { total, byAction: Object.fromEntries(this.#faults!) } }),
      durationMs: (end ?? now) - this.open,
      client: this.#dirs.client.snapshot(this.open),
      server: this.#dirs.server.snapshot(this.open),
      close: {
        by: c?.by ?? null,
        code: c?.code ?? null,
        clean: c?.clean ?? null,
        replyMs: this.#replyMs,
        handshakeMs: this.#firstClose === null || end === null ? null : end - this.#firstClose.time,
      },
    };
  }
}

/** Stats of a session read back from a log: rebuilt from its frames and messages. */
export function statsFromRecords(
  open: number,
  frames: Iterable<FrameFacts>,
  messages: Iterable<MessageFacts>,
  close: CloseFacts | null,
  faults: Iterable<string> = [],
): SessionStats {
  const b = new SessionStatsBuilder(open);
  for (const action of faults) b.fault(action);
  // Frames and messages interleave in the log; matching pings to pongs needs only frame order.
  for (const f of frames) b.frame(f);
  for (const m of messages) b.message(m);
  if (close !== null) b.close(close);
  return b.snapshot();
}
