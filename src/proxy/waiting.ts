/**
 * Messages that wait behind an undecided one in the same direction. Each is still decided in
 * order, but a decider that shows what is held (the TUI's intercept) is told about them as soon
 * as they are complete, so a person sees every held message, not only the first.
 */
import { isControlOpcode } from '../protocol/constants.js';
import type { HeldMessage, MessageInterceptor } from '../intercept/verdict.js';
import type { Side } from './events.js';
import { concat } from './pipe-records.js';
import type { Item, MessageItem } from './pipe-state.js';

/** The message as its decider will see it, or null while it cannot be yet (inflation still runs, or it is too large to hold). */
export function waitingMessage(item: MessageItem, session: number, from: Side, maxMessage: number): HeldMessage | null {
  if (!item.complete || !item.wanted) return null;
  const dataFrames = item.frames.filter((f) => !isControlOpcode(f.header.opcode));
  let data: Buffer;
  if (item.compressed) {
    const parts = [];
    for (const p of item.parts) {
      if (p instanceof Promise || p.error !== null) return null;
      parts.push(p.data);
    }
    data = concat(parts);
  } else data = concat(dataFrames.flatMap((f) => f.chunks));
  if (data.length > maxMessage) return null;
  return { id: item.id, session, from, kind: item.kind, data, frames: dataFrames.length, compressed: item.compressed };
}

/**
 * Tells the deciders that want them about complete messages behind the queue head (index 0,
 * being decided), each once. `told` remembers which were announced.
 */
export function announceWaiting(queue: readonly Item[], told: WeakSet<MessageItem>, deciders: readonly MessageInterceptor[], session: number, from: Side, maxMessage: number, signal: AbortSignal): void {
  if (!deciders.some((d) => d.waiting !== undefined)) return;
  for (let i = 1; i < queue.length; i++) {
    const item = queue[i]!;
    if (item.type !== 'message' || told.has(item)) continue;
    const held = waitingMessage(item, session, from, maxMessage);
    if (held === null) continue;
    told.add(item);
    const meta = { session, from, kind: held.kind };
    for (const d of deciders) if (d.waiting !== undefined && d.wants(meta)) d.waiting(held, signal);
  }
}
