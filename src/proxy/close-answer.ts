/**
 * After the proxy closed a session itself, each peer's answer: RFC 6455 §5.5.1, "If an endpoint
 * receives a Close frame and did not previously send a Close frame, the endpoint MUST send a Close
 * frame in response". Nothing the peer sends then is relayed (its partner got the proxy's own
 * close), but its close answer is what makes the closing handshake complete (§7.1.4 "The WebSocket
 * Closing Handshake is Started"), so it is looked for in the rest of the stream and told to the
 * session, which records the close as clean only when both answered.
 */
import { MAX_CONTROL_PAYLOAD, Opcode } from '../protocol/constants.js';
import { closeCodeName, parseClosePayload, type ClosePayload } from '../protocol/close-codes.js';
import type { WireHeader } from '../protocol/frame-header.js';
import type { FrameSink } from '../protocol/frame-parser.js';

export class CloseAnswer implements FrameSink {
  readonly #heard: (close: ClosePayload) => void;
  /** The close frame being read (null while reading any other frame). */
  #header: WireHeader | null = null;
  readonly #body = new Uint8Array(MAX_CONTROL_PAYLOAD);
  #length = 0;
  #done = false;

  /** `heard`: called once, with the peer's close frame decoded. */
  constructor(heard: (close: ClosePayload) => void) {
    this.#heard = heard;
  }

  header(header: WireHeader): void {
    this.#header = !this.#done && header.opcode === Opcode.Close ? header : null;
    this.#length = 0;
  }

  payload(chunk: Uint8Array, start: number, end: number, offset: number): void {
    const h = this.#header;
    if (h === null) return;
    const key = h.maskKey;
    // A control frame's body is at most 125 bytes (§5.5); past that only the first 125 are read.
    const stop = Math.min(end, start + MAX_CONTROL_PAYLOAD - offset);
    for (let i = start; i < stop; i++) {
      const at = offset + i - start;
      this.#body[at] = key === null ? chunk[i]! : chunk[i]! ^ key[at & 3]!;
    }
    if (stop > start) this.#length = offset + stop - start;
  }

  frameEnd(): void {
    if (this.#header === null) return;
    this.#header = null;
    this.#done = true;
    this.#heard(parseClosePayload(this.#body.subarray(0, this.#length)));
  }

  violation(): void {
    // The proxy has closed already: what is wrong in the peer's last bytes changes nothing.
  }
}

/** The log's line for a peer's answer (its reason quoted and escaped: it is the peer's text). */
export function answerText(from: 'client' | 'server', close: ClosePayload): string {
  const said = close.code === null ? 'no status' : `${close.code} ${closeCodeName(close.code)}${close.reason === '' ? '' : ` ${JSON.stringify(close.reason)}`}`;
  return `the ${from} answered the proxy's close: ${said}`;
}
