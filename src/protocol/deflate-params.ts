/**
 * permessage-deflate (RFC 7692) parameters, read from the server's accepted extension. Pure:
 * the zlib streams that use them live in proxy/later-inflater.ts and proxy/inflater.ts.
 */
import { formatExtensions, type ExtensionOffer } from './handshake.js';

export interface DeflateParams {
  /** §7.1.1.1: the server resets its compression context after each message. */
  readonly serverNoContextTakeover: boolean;
  /** §7.1.1.2: the client resets its compression context after each message. */
  readonly clientNoContextTakeover: boolean;
  /** §7.1.2.1: LZ77 window the server compresses with (8..15). */
  readonly serverMaxWindowBits: number;
  /** §7.1.2.2: LZ77 window the client compresses with (8..15). */
  readonly clientMaxWindowBits: number;
}

export const DEFLATE_EXTENSION = 'permessage-deflate';

function windowBits(value: string | true, allowBare: boolean): number | null {
  if (value === true) return allowBare ? 15 : null;
  if (!/^(?:[89]|1[0-5])$/.test(value)) return null;
  return Number(value);
}

/**
 * Reads the accepted permessage-deflate response (§7.1). Returns null when the server did not
 * accept it, or a string describing why the response is invalid.
 */
export function deflateFromResponse(extensions: readonly ExtensionOffer[]): DeflateParams | null | string {
  const accepted = extensions.filter((e) => e.name === DEFLATE_EXTENSION);
  if (accepted.length === 0) return null;
  if (accepted.length > 1) return 'permessage-deflate accepted more than once';
  let serverNoContextTakeover = false;
  let clientNoContextTakeover = false;
  let serverMaxWindowBits = 15;
  let clientMaxWindowBits = 15;
  const seen = new Set<string>();
  for (const [key, value] of accepted[0]!.params) {
    // §7.1: "A server MUST decline an extension negotiation offer ... [with] multiple parameters with the same name".
    if (seen.has(key)) return `duplicate parameter ${key}`;
    seen.add(key);
    switch (key) {
      case 'server_no_context_takeover':
        if (value !== true) return 'server_no_context_takeover takes no value';
        serverNoContextTakeover = true;
        break;
      case 'client_no_context_takeover':
        if (value !== true) return 'client_no_context_takeover takes no value';
        clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        const bits = windowBits(value, false);
        if (bits === null) return `invalid server_max_window_bits ${String(value)}`;
        serverMaxWindowBits = bits;
        break;
      }
      case 'client_max_window_bits': {
        // §7.1.2.2: in a response the value is required.
        const bits = windowBits(value, false);
        if (bits === null) return `invalid client_max_window_bits ${String(value)}`;
        clientMaxWindowBits = bits;
        break;
      }
      default:
        return `unknown parameter ${key}`;
    }
  }
  return { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits };
}

/** The offer without permessage-deflate (for --no-deflate); null when nothing is left. */
export function withoutDeflate(offers: readonly ExtensionOffer[]): string | null {
  const rest = offers.filter((o) => o.name !== DEFLATE_EXTENSION);
  return rest.length === 0 ? null : formatExtensions(rest);
}
