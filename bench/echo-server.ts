/**
 * The benchmark's WebSocket server, run as its own child process (see startEchoServer) so it never
 * competes with the load generator's event loop.
 *
 *   GET /echo      every data frame comes back unmasked with the same opcode and FIN bit, streamed
 *                  as it arrives; ping -> pong with the same payload; close -> close echoed, then end.
 *   GET /sink/ID   data frames are checked against pattern stream ID without being held, then
 *                  acked with a text frame "ok <bytes> <ms when the first MiB arrived>" or
 *                  "bad ..." saying what was wrong.
 */
import net from 'node:net';
import type { ReadyMessage } from './children.js';
import { wallNow } from './clock.js';
import { PatternChecker } from './pattern.js';
import {
  FrameParser, LITTLE_ENDIAN, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, acceptFor, serverFrame, writeHeader, xorCopy, xorInPlace,
  type FrameHandler,
} from './ws-frames.js';

const MIB = 1024 * 1024;
/** Below this a payload piece is copied into the batch buffer; above, unmasked in place and sent as is. */
const COPY_LIMIT = 512;

class Connection implements FrameHandler {
  private parser: FrameParser | null = null;
  private pending = Buffer.alloc(0);
  private closed = false;
  // Output batched per 'data' event: one write (or one writev) per chunk read.
  private pieces: Buffer[] = [];
  private scratch: Buffer | null = null;
  private scratchStart = 0;
  private scratchPos = 0;
  private chunkLen = 0;
  // Current frame.
  private opcode = 0;
  private key: number | null = null;
  private control: Buffer[] = [];
  // Sink mode.
  private sinkId = -1;
  private checker: PatternChecker | null = null;
  private count = 0;
  private firstMiBAt = 0;
  private shape = '';

  constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('drain', () => socket.resume());
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    if (!this.parser) {
      chunk = this.handshake(chunk);
      if (!this.parser || chunk.length === 0) return;
    }
    this.chunkLen = chunk.length;
    if (this.sinkId < 0 && this.parser.atBoundary) chunk = this.echoSmall(chunk);
    this.parser.push(chunk);
    this.flush();
  }

  /**
   * The common case of the message workloads, without the parser: whole masked data frames of up
   * to 125 bytes at the start of the chunk are unmasked and compacted in place (a 6-byte client
   * header becomes a 2-byte server header; FIN, RSV1 and opcode as they came), and the front of
   * the chunk is echoed as is: no allocation and one write per read. Each frame moves left by a
   * multiple of 4 bytes, so its payload keeps its alignment and is unmasked a 32-bit word at a
   * time (little-endian machines). Returns what is left for the parser.
   */
  private echoSmall(chunk: Buffer): Buffer {
    const n = chunk.length;
    const base = chunk.byteOffset;
    let words: Int32Array | null = null;
    let i = 0;
    let o = 0;
    while (i + 6 <= n) {
      const b0 = chunk[i]!;
      const b1 = chunk[i + 1]!;
      const len = b1 & 0x7f;
      if ((b0 & 0x08) !== 0 || (b1 & 0x80) === 0 || len > 125 || i + 6 + len > n) break;
      // Key bytes 0..3 as a little-endian word: payload byte j is XORed with byte j % 4.
      const key = chunk[i + 2]! | (chunk[i + 3]! << 8) | (chunk[i + 4]! << 16) | (chunk[i + 5]! << 24);
      chunk[o] = b0;
      chunk[o + 1] = len;
      const src = i + 6;
      const dst = o + 2;
      let j = 0;
      if (LITTLE_ENDIAN && len >= 8) {
        for (const head = (4 - ((base + src) & 3)) & 3; j < head; j++) chunk[dst + j] = chunk[src + j]! ^ ((key >>> (8 * j)) & 0xff);
        const k = j === 0 ? key : (key >>> (8 * j)) | (key << (32 - 8 * j));
        words ??= new Int32Array(chunk.buffer, 0, chunk.buffer.byteLength >>> 2);
        const shift = (src - dst) >>> 2;
        const last = (base + src + len) >>> 2;
        for (let w = (base + src + j) >>> 2; w < last; w++) words[w - shift] = words[w]! ^ k;
        j = (last << 2) - base - src;
      }
      for (; j < len; j++) chunk[dst + j] = chunk[src + j]! ^ ((key >>> (8 * (j & 3))) & 0xff);
      i = src + len;
      o = dst + len;
    }
    if (o > 0) this.pushPiece(chunk.subarray(0, o));
    return i === 0 ? chunk : chunk.subarray(i);
  }

  private handshake(chunk: Buffer): Buffer {
    this.pending = Buffer.concat([this.pending, chunk]);
    const endAt = this.pending.indexOf('\r\n\r\n');
    if (endAt < 0) {
      if (this.pending.length > 16384) this.socket.destroy();
      return Buffer.alloc(0);
    }
    const lines = this.pending.subarray(0, endAt).toString('latin1').split('\r\n');
    const path = lines[0]?.split(' ')[1] ?? '';
    const keyLine = lines.find((l) => l.toLowerCase().startsWith('sec-websocket-key:'));
    if (!keyLine) {
      this.socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      this.closed = true;
      return Buffer.alloc(0);
    }
    const sink = /^\/sink\/(\d+)$/.exec(path);
    if (sink) this.sinkId = Number(sink[1]);
    const accept = acceptFor(keyLine.slice(keyLine.indexOf(':') + 1).trim());
    // permessage-deflate (RFC 7692) with its defaults when offered: payloads are never inflated
    // here, only reflected, so the client's compressed stream comes back as a valid one.
    const offer = lines.find((l) => l.toLowerCase().startsWith('sec-websocket-extensions:'));
    const deflate = offer !== undefined && /(^|[\s,:])permessage-deflate\s*(,|$)/i.test(offer);
    this.socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n` +
        (deflate ? 'Sec-WebSocket-Extensions: permessage-deflate\r\n' : '') +
        '\r\n',
    );
    this.parser = new FrameParser(this);
    const rest = this.pending.subarray(endAt + 4);
    this.pending = Buffer.alloc(0);
    return rest;
  }

  header(fin: boolean, opcode: number, len: number, key: number | null, rsv1 = false): void {
    this.opcode = opcode;
    this.key = key;
    if (opcode >= 8) {
      this.control = [];
      return;
    }
    if (this.sinkId >= 0) {
      // The message was sent as one frame; a proxy must not re-fragment it.
      if (!fin || opcode === OP_CONT) this.shape = `bad frame shape: fin=${fin} opcode=${opcode} len=${len}`;
      this.checker = new PatternChecker(this.sinkId, key);
      this.count = 0;
      this.firstMiBAt = 0;
      return;
    }
    const room = this.reserve(10);
    const at = this.scratchPos;
    this.scratchPos = writeHeader(room, at, fin, opcode, len, null);
    // A compressed payload is reflected as it came: the client's own stream is valid both ways.
    if (rsv1) room[at] = room[at]! | 0x40;
  }

  payload(buf: Buffer, start: number, end: number, off: number): void {
    if (this.opcode >= 8) {
      this.control.push(Buffer.from(buf.subarray(start, end)));
    } else if (this.checker) {
      this.checker.check(buf, start, end, off);
      this.count += end - start;
      if (this.firstMiBAt === 0 && this.count >= MIB) this.firstMiBAt = wallNow();
    } else if (this.key === null) {
      this.pushPiece(buf.subarray(start, end));
    } else if (end - start <= COPY_LIMIT) {
      const room = this.reserve(end - start);
      xorCopy(buf, start, end, this.key, off, room, this.scratchPos);
      this.scratchPos += end - start;
    } else {
      xorInPlace(buf, start, end, this.key, off);
      this.pushPiece(buf.subarray(start, end));
    }
  }

  end(): void {
    if (this.opcode >= 8) {
      const body = Buffer.concat(this.control);
      if (this.key !== null) xorInPlace(body, 0, body.length, this.key, 0);
      if (this.opcode === OP_PING) this.pushPiece(serverFrame(OP_PONG, body));
      else if (this.opcode === OP_CLOSE) {
        this.pushPiece(serverFrame(OP_CLOSE, body));
        this.flush();
        this.closed = true;
        this.socket.end();
      }
      return;
    }
    if (this.checker) {
      const c = this.checker;
      this.checker = null;
      const reply = this.shape || (c.firstBad >= 0 ? `bad byte at offset ${c.firstBad}` : `ok ${this.count} ${this.firstMiBAt}`);
      this.pushPiece(serverFrame(OP_TEXT, Buffer.from(reply)));
    }
  }

  /** Scratch space for at least n more bytes, sized for the worst case of the current chunk. */
  private reserve(n: number): Buffer {
    if (this.scratch && this.scratch.length - this.scratchPos >= n) return this.scratch;
    this.cutScratch();
    this.scratch = Buffer.allocUnsafe(Math.max(n, this.chunkLen + 14, 256));
    this.scratchStart = this.scratchPos = 0;
    return this.scratch;
  }

  private cutScratch(): void {
    if (this.scratch && this.scratchPos > this.scratchStart) {
      this.pieces.push(this.scratch.subarray(this.scratchStart, this.scratchPos));
      this.scratchStart = this.scratchPos;
    }
  }

  private pushPiece(b: Buffer): void {
    this.cutScratch();
    this.pieces.push(b);
  }

  private flush(): void {
    this.cutScratch();
    this.scratch = null;
    const pieces = this.pieces;
    if (pieces.length === 0 || this.closed) return;
    this.pieces = [];
    let ok = true;
    if (pieces.length === 1) ok = this.socket.write(pieces[0]!);
    else {
      this.socket.cork();
      for (const p of pieces) ok = this.socket.write(p);
      this.socket.uncork();
    }
    // Backpressure: stop reading until the peer drains what we owe it.
    if (!ok) this.socket.pause();
  }
}

function main(): void {
  const server = net.createServer({ noDelay: true }, (socket) => new Connection(socket));
  server.on('error', (err) => {
    console.error('echo server:', err);
    process.exit(1);
  });
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    const addr = server.address();
    if (addr && typeof addr === 'object') process.send?.({ type: 'ready', port: addr.port } satisfies ReadyMessage);
  });
  // Die with the parent, whichever way it goes.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

if (process.send) main();
