/**
 * The load generator's measuring loop for pipelined echoes: every client frame is built before the
 * clock starts, into one buffer, and so is every byte the echo must send back. While measuring,
 * the client only writes slices of the first buffer (one write per read, as many frames as the
 * window has room for) and compares what arrives with the second, memcmp on whole reads: no frame
 * parsing, no masking, no allocation per message, yet every byte is checked, in order.
 */
import { performance } from 'node:perf_hooks';
import { IntegrityError, WsClient } from './load.js';

/** Bytes one read can bring: far more than a window of w1 or w6 (100 frames of 70 or 59 B). */
const READ_BUFFER = 256 * 1024;

/** A precomputed exchange: client frames, and the server frames the echo of each one must be. */
export interface EchoStream {
  readonly count: number;
  readonly client: Buffer;
  /** clientEnds[i]: where client frame i ends in `client`. */
  readonly clientEnds: Uint32Array;
  readonly expected: Buffer;
  /** expectedEnds[i]: where the echo of frame i ends in `expected`. */
  readonly expectedEnds: Uint32Array;
}

/** Builds a stream from a function writing frame i into a scratch buffer (returns its length). */
export function buildStream(count: number, maxClient: number, maxServer: number, write: (i: number, client: Buffer, server: Buffer) => [number, number]): EchoStream {
  const client = Buffer.allocUnsafe(count * maxClient);
  const expected = Buffer.allocUnsafe(count * maxServer);
  const clientEnds = new Uint32Array(count);
  const expectedEnds = new Uint32Array(count);
  let c = 0;
  let s = 0;
  for (let i = 0; i < count; i++) {
    const [cl, sl] = write(i, client.subarray(c, c + maxClient), expected.subarray(s, s + maxServer));
    c += cl;
    s += sl;
    clientEnds[i] = c;
    expectedEnds[i] = s;
  }
  return { count, client: client.subarray(0, c), clientEnds, expected: expected.subarray(0, s), expectedEnds };
}

export interface StreamEchoOptions {
  readonly path: string;
  /** Sec-WebSocket-Extensions to offer; the answer must accept it. */
  readonly extensions?: string;
  /** Frames in flight. */
  readonly window: number;
  /** Echo the first `count` frames of the stream (default all). */
  readonly count?: number;
}

/** Runs the exchange; resolves with the elapsed milliseconds. */
export async function streamEcho(port: number, stream: EchoStream, opts: StreamEchoOptions): Promise<number> {
  const count = Math.min(opts.count ?? stream.count, stream.count);
  const { client: out, clientEnds, expected, expectedEnds } = stream;
  const end = expectedEnds[count - 1]!;
  // Reads land in one reused buffer and are compared where they lie: nothing allocated per read.
  const ws = await WsClient.connect(port, opts.path, 15_000, opts.extensions, Buffer.allocUnsafe(READ_BUFFER));
  const socket = ws.socket;
  let sent = 0;
  let acked = 0;
  let received = 0;
  const t0 = performance.now();
  const elapsed = await new Promise<number>((resolve, reject) => {
    ws.onFail = reject;
    const send = (): void => {
      const limit = Math.min(count, acked + opts.window);
      if (limit <= sent) return;
      socket.write(out.subarray(sent === 0 ? 0 : clientEnds[sent - 1]!, clientEnds[limit - 1]!));
      sent = limit;
    };
    ws.raw = (buf, n) => {
      const to = received + n;
      if (to > end || buf.compare(expected, received, to, 0, n) !== 0) {
        let i = 0;
        while (i < n && received + i < end && buf[i] === expected[received + i]) i++;
        throw new IntegrityError(`echo byte ${received + i} (message ${messageAt(expectedEnds, received + i)}) is 0x${buf[i]?.toString(16)} instead of ${received + i < end ? '0x' + expected[received + i]!.toString(16) : 'nothing (more bytes than sent)'}`);
      }
      received = to;
      while (acked < count && expectedEnds[acked]! <= received) acked++;
      if (acked === count) resolve(performance.now() - t0);
      else send();
    };
    send();
  });
  await ws.close();
  return elapsed;
}

function messageAt(ends: Uint32Array, offset: number): number {
  let i = 0;
  while (i < ends.length && ends[i]! <= offset) i++;
  return i;
}
