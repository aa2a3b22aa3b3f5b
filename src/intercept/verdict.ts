/**
 * The one decision path that may change bytes. TUI intercept, scripts and --replace rules are all
 * MessageInterceptors, run in order for each message of one direction of one session; the relay
 * awaits the chain before the message (and everything behind it in that direction) moves on.
 * Other directions and sessions are never blocked by it.
 */
import type { MessageKind, Side } from '../proxy/events.js';

/** A whole message (or a single control frame) as a decider sees it: unmasked and inflated. */
export interface HeldMessage {
  /** Message id on the bus (MessageRecord.id, or FrameRecord.id for a control frame). */
  readonly id: number;
  readonly session: number;
  readonly from: Side;
  readonly kind: MessageKind | 'ping' | 'pong' | 'close';
  readonly data: Uint8Array;
  /** Number of frames it arrived in. */
  readonly frames: number;
  readonly compressed: boolean;
  /** When its first frame arrived (the proxy's clock), when known: a delay counts from here. */
  readonly time?: number;
  /** Id of its first frame (FrameRecord.id), when known. */
  readonly frame?: number;
}

/**
 * How a message the proxy writes is cut into frames: payloads of at most `maxFrame` bytes (0: one
 * frame), with a ping between fragments when `ping` is set (RFC 6455 §5.4 allows control frames
 * in the middle of a fragmented message). Set by fault rules; any layout counts as a change.
 */
export interface FrameLayout {
  readonly maxFrame: number;
  readonly ping?: boolean;
}

/** A message the proxy is to write instead. Close payloads are encoded status code + reason. */
export interface OutMessage {
  readonly kind: MessageKind | 'ping' | 'pong' | 'close';
  readonly data: Uint8Array;
  /** Absent: one frame. */
  readonly layout?: FrameLayout;
}

export type Verdict =
  | { readonly action: 'forward' }
  | { readonly action: 'drop' }
  | { readonly action: 'replace'; readonly messages: readonly OutMessage[] };

export const FORWARD: Verdict = Object.freeze({ action: 'forward' });
export const DROP: Verdict = Object.freeze({ action: 'drop' });

/** What an interceptor is asked before a message is held, so uninteresting traffic streams. */
export interface MessageMeta {
  readonly session: number;
  readonly from: Side;
  readonly kind: MessageKind | 'ping' | 'pong' | 'close';
}

export interface MessageInterceptor {
  /** Shown in logs and as MessageRecord.by: "script", "replace", "intercept". */
  readonly name: string;
  /** Cheap and synchronous: does this interceptor want to decide on such a message? */
  wants(meta: MessageMeta): boolean;
  /**
   * Decide. May be async; the signal aborts when the session ends. Throwing is caught by the
   * chain: the message goes on unchanged (fail open) and the error is reported.
   */
  decide(message: HeldMessage, signal: AbortSignal): Verdict | Promise<Verdict>;
  /** Told when a message it wanted was too large to hold (over --max-message) and was streamed. */
  streamed?(meta: MessageMeta, length: number): void;
  /**
   * Told of a complete message it wants that waits behind an undecided one in the same direction
   * (for a decider that lists what is held). decide() is still called for it later, in order; the
   * signal aborts when the session ends.
   */
  waiting?(message: HeldMessage, signal: AbortSignal): void;
}

export interface ChainResult {
  /** What to write, in order; empty when dropped. */
  readonly messages: readonly OutMessage[];
  /** Name of the last interceptor that changed the message, or null when it goes as received. */
  readonly changedBy: string | null;
  readonly dropped: boolean;
}

export type ChainErrorReporter = (interceptor: string, error: unknown) => void;

const KINDS: ReadonlySet<string> = new Set(['text', 'binary', 'ping', 'pong', 'close']);

/**
 * Why a message may not be written, or null. Deciders come from scripts and plugins: what they
 * return is checked once here, so no replacement can put an invalid frame on the wire.
 */
export function invalidOutMessage(m: OutMessage): string | null {
  if (!KINDS.has(m.kind)) return `unknown message kind ${JSON.stringify(m.kind)}`;
  if (!(m.data instanceof Uint8Array)) return `${m.kind} data is not bytes`;
  // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
  if (m.kind !== 'text' && m.kind !== 'binary' && m.data.length > 125) return `${m.kind} payload of ${m.data.length} bytes (control frames carry at most 125)`;
  // §5.5: "Control frames themselves MUST NOT be fragmented."
  if (m.layout !== undefined && m.kind !== 'text' && m.kind !== 'binary') return `${m.kind} frames cannot be fragmented`;
  if (m.layout !== undefined && !(Number.isInteger(m.layout.maxFrame) && m.layout.maxFrame >= 0)) return `frame size ${m.layout.maxFrame} is not a whole number`;
  return null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * Runs the interceptors in order. A replacement is fed to the interceptors after the one that
 * made it (each resulting message in turn), so rules, script and TUI compose.
 */
export async function runChain(
  interceptors: readonly MessageInterceptor[],
  message: HeldMessage,
  signal: AbortSignal,
  onError: ChainErrorReporter,
): Promise<ChainResult> {
  let current: OutMessage[] = [{ kind: message.kind, data: message.data }];
  let changedBy: string | null = null;
  for (const interceptor of interceptors) {
    const next: OutMessage[] = [];
    for (const out of current) {
      const meta: MessageMeta = { session: message.session, from: message.from, kind: out.kind };
      if (!interceptor.wants(meta)) {
        next.push(out);
        continue;
      }
      let verdict: Verdict;
      try {
        verdict = await interceptor.decide({ ...message, kind: out.kind, data: out.data }, signal);
      } catch (error) {
        onError(interceptor.name, error);
        verdict = FORWARD;
      }
      if (signal.aborted) return { messages: [], changedBy, dropped: true };
      switch (verdict.action) {
        case 'forward':
          next.push(out);
          break;
        case 'drop':
          changedBy = interceptor.name;
          break;
        case 'replace': {
          const bad = verdict.messages.map(invalidOutMessage).find((r) => r !== null);
          if (bad !== undefined) {
            onError(interceptor.name, new RangeError(`invalid replacement: ${bad}`));
            next.push(out);
            break;
          }
          const one = verdict.messages[0];
          if (verdict.messages.length !== 1 || one!.kind !== out.kind || !sameBytes(one!.data, out.data) || one!.layout !== undefined) {
            changedBy = interceptor.name;
          }
          next.push(...verdict.messages);
          break;
        }
        default:
          assertNever(verdict);
      }
    }
    current = next;
  }
  return { messages: current, changedBy, dropped: current.length === 0 };
}

export function assertNever(value: never): never {
  throw new TypeError(`unexpected value ${JSON.stringify(value)}`);
}
