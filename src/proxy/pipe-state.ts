/**
 * The state a DirectionPipe keeps: what it observes of the frame and message being parsed, and
 * the items waiting in its ordered queue for a decision or for their turn.
 */
import { Opcode } from '../protocol/constants.js';
import type { FrameHeader, WireHeader } from '../protocol/frame-header.js';
import type { MessageContext } from '../protocol/frame-parser.js';
import type { Utf8Validator } from '../protocol/utf8-validator.js';
import type { Violation } from '../protocol/violations.js';
import type { OutMessage } from '../intercept/verdict.js';
import type { MessageFate } from './events.js';
import type { Inflated } from './inflater.js';

export type DataKind = 'text' | 'binary';
export type ControlKind = 'ping' | 'pong' | 'close';

/** A frame waiting in the queue: unmasked payload, original header. */
export interface QueuedFrame {
  readonly id: number;
  readonly header: FrameHeader;
  readonly raw: Uint8Array;
  readonly chunks: Uint8Array[];
  complete: boolean;
  /** When its header arrived. */
  readonly time: number;
}

export type Item =
  | { readonly type: 'frame'; readonly frame: QueuedFrame; readonly decide: boolean }
  | {
      readonly type: 'message';
      readonly id: number;
      /** When its first frame arrived. */
      readonly time: number;
      readonly kind: DataKind;
      readonly compressed: boolean;
      /** Some decider wants it (otherwise it is held only to be re-compressed). */
      readonly wanted: boolean;
      readonly frames: QueuedFrame[];
      readonly parts: Inflated[];
      size: number;
      complete: boolean;
    }
  | { readonly type: 'inject'; readonly messages: readonly OutMessage[] };

export type MessageItem = Extract<Item, { type: 'message' }>;

/** Observation state of the frame being parsed. */
export interface Current {
  readonly id: number;
  readonly time: number;
  readonly header: WireHeader;
  readonly message: MessageContext | null;
  /** NO_VIOLATIONS (shared, empty) until one is found: use addViolation. */
  violations: Violation[];
  /** Allocated on first payload, or a view of the wire bytes when that costs no extra memory. */
  preview: Uint8Array | null;
  /** A preview that lies in a slab (slab.ts IN_SLAB): its memory and offset; null otherwise. */
  slabMemory: ArrayBuffer | null;
  slabAt: number;
  /** How many payload bytes observers get: min(payload length, maxPreview). */
  readonly previewCap: number;
  previewLen: number;
  /** Where its bytes go: written through, or into a queued frame. */
  queued: QueuedFrame | null;
  /** For a masked frame written through: old key XOR new key, as a word. */
  rekey: number;
  /**
   * Its record, once the frame has ended and waits for the write of its chunk (set in place
   * rather than in an object of its own: one object fewer per frame): what observers are shown,
   * the close body, its message, whether it ends it, when it ended, the (inflated) length.
   */
  shown: Uint8Array;
  close: { readonly code: number | null; readonly reason: string } | null;
  msg: Message | null;
  last: boolean;
  endTime: number;
  shownLength: number;
  /** The next frame of its chunk whose record waits with it (peer-records.ts): a list, not an array. */
  nextHeld: Current | null;
}

const NO_BYTES = new Uint8Array(0);

/** The observation state of a frame whose header was just decoded. */
export function newCurrent(id: number, time: number, header: WireHeader, message: MessageContext | null, violations: Violation[], previewCap: number, queued: QueuedFrame | null): Current {
  return {
    id,
    time,
    header,
    message,
    violations,
    preview: null,
    slabMemory: null,
    slabAt: 0,
    previewCap,
    previewLen: 0,
    queued,
    rekey: 0,
    shown: NO_BYTES,
    close: null,
    msg: null,
    last: false,
    endTime: 0,
    shownLength: 0,
    nextHeld: null,
  };
}

/** The preview parts of a message that has none yet: shared, replaced (never pushed to) on the first. */
export const NO_PARTS: Uint8Array[] = [];

/** The violations of a frame that has none: shared, never written to. */
export const NO_VIOLATIONS: Violation[] = [];

export function addViolation(cur: Current, v: Violation): void {
  if (cur.violations === NO_VIOLATIONS) cur.violations = [];
  cur.violations.push(v);
}

/** Observation state of the data message in progress. */
export interface Message {
  readonly id: number;
  readonly time: number;
  readonly kind: DataKind | 'continuation';
  readonly compressed: boolean;
  readonly utf8: Utf8Validator | null;
  /** The queue item while it is held; null once it streams through. */
  held: MessageItem | null;
  fate: MessageFate;
  frames: number;
  length: number;
  preview: Uint8Array[];
  previewLen: number;
}

export const OPCODES: { readonly [K in OutMessage['kind']]: number } = {
  text: Opcode.Text,
  binary: Opcode.Binary,
  ping: Opcode.Ping,
  pong: Opcode.Pong,
  close: Opcode.Close,
};

export function controlKind(opcode: number): ControlKind | null {
  return opcode === Opcode.Ping ? 'ping' : opcode === Opcode.Pong ? 'pong' : opcode === Opcode.Close ? 'close' : null;
}

/**
 * What one queued frame costs in memory beyond its payload (its queue entry, header and the views
 * of its bytes; about this much in the heap). Counted toward the queue's bound (twice
 * --max-message) with the payload, and a held message may have at most --max-message / FRAME_COST
 * frames: a peer sending empty frames (endless empty fragments of a held message, or empty
 * messages behind it) meets the bounds as one sending bytes does, instead of growing the queue
 * without end.
 */
export const FRAME_COST = 256;

/** What a queued frame counts toward the queue's bound: its payload bytes and FRAME_COST. */
export function size(frame: QueuedFrame): number {
  let n = FRAME_COST;
  for (const c of frame.chunks) n += c.length;
  return n;
}

/**
 * A held message is too large to hold when its payload is over --max-message, or its frames,
 * at FRAME_COST each, are: the second bounds a message of many empty fragments.
 */
export const overHeld = (item: MessageItem, maxMessage: number): boolean => item.size > maxMessage || item.frames.length * FRAME_COST > maxMessage;
