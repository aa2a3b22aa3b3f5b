/**
 * permessage-deflate state of one direction: the inflater that shows observers plain payloads,
 * and the proxy's own deflater once a rewrite forces it to compress (RFC 7692 §7.2.3).
 */
import type { DeflateParams } from '../protocol/deflate-params.js';
import type { OutMessage } from '../intercept/verdict.js';
import type { Side } from './events.js';
import { Deflater, type InflaterOptions } from './inflater.js';
import { LaterInflater } from './later-inflater.js';

export class DirectionCompression {
  readonly inflater: LaterInflater;
  /** The sender's compression context is shared across messages (no *_no_context_takeover). */
  readonly contextTakeover: boolean;
  /** After a compressed message was changed, later ones must be re-compressed by the proxy. */
  recompress = false;
  readonly #options: InflaterOptions;
  #deflater: Deflater | null = null;

  /**
   * `from`: the peer whose frames this direction carries; its own parameters apply. `later`:
   * inflate after each write (later-inflater.ts) rather than as each frame ends (--strict).
   */
  constructor(from: Side, params: DeflateParams, later = false) {
    this.#options =
      from === 'client'
        ? { windowBits: params.clientMaxWindowBits, noContextTakeover: params.clientNoContextTakeover }
        : { windowBits: params.serverMaxWindowBits, noContextTakeover: params.serverNoContextTakeover };
    this.inflater = new LaterInflater(this.#options, { eager: !later });
    this.contextTakeover = !this.#options.noContextTakeover;
  }

  /** Compresses each message with the proxy's deflater, honouring the sender's parameters. */
  async compress(messages: readonly OutMessage[]): Promise<Buffer[]> {
    this.#deflater ??= new Deflater(this.#options);
    const out: Buffer[] = [];
    for (const m of messages) out.push(await this.#deflater.compress(m.data));
    return out;
  }

  close(): void {
    this.inflater.close();
    this.#deflater?.close();
  }
}
