/**
 * How many payload bytes per frame the observers on a bus read. A frame's preview is unmasked,
 * copied (or inflated and kept) for them, so a 64 KiB preview per frame costs a 64 KiB copy and
 * its collection even when the only observer is the headless printer, which shows about a hundred
 * bytes of it. An observer that subscribes with `subscribe(bus, handlers, { previewBytes })`
 * declares what it reads; one that does not gets the whole --max-preview, as before.
 */
import type { ProxyBus } from './events.js';

const declared = new WeakMap<object, number>();
const eventfulOnly = new WeakSet<object>();

/** `listener` reads at most `bytes` bytes of each frame and message payload. */
export function declarePreview(listener: object, bytes: number): void {
  declared.set(listener, bytes);
}

/**
 * `listener`, a `message` handler, reads only the messages that say more than their one frame:
 * decided on, or reassembled from fragments (the headless printer). While every `message` handler
 * is such, a one-frame message passed on as it came gets no record at all (its numbers still go to
 * the session's statistics).
 */
export function declareEventfulMessages(listener: object): void {
  eventfulOnly.add(listener);
}

interface Demand {
  frames: number;
  messages: number;
  bytes: number;
  /** Some `message` handler reads every message. */
  plain: boolean;
}

const demands = new WeakMap<ProxyBus, Demand>();

/** The listeners changed: the next read recomputes the demand. */
export function forgetPreviewDemand(bus: ProxyBus): void {
  demands.delete(bus);
}

/**
 * The preview size the frame and message observers of `bus` need, at most `max`. Cheap enough
 * per socket read: recomputed only when the number of listeners changed.
 */
export function previewBytes(bus: ProxyBus, max: number): number {
  return Math.min(demand(bus).bytes, max);
}

/** Whether an observer of `bus` reads plain one-frame messages (see declareEventfulMessages). */
export function plainMessagesWanted(bus: ProxyBus): boolean {
  return demand(bus).plain;
}

function demand(bus: ProxyBus): Demand {
  const frames = bus.listenerCount('frame');
  const messages = bus.listenerCount('message');
  let d = demands.get(bus);
  if (d !== undefined && d.frames === frames && d.messages === messages) return d;
  let bytes = 0;
  for (const fn of [...bus.listeners('frame'), ...bus.listeners('message')]) bytes = Math.max(bytes, declared.get(fn) ?? Infinity);
  const plain = bus.listeners('message').some((fn) => !eventfulOnly.has(fn));
  d = { frames, messages, bytes, plain };
  demands.set(bus, d);
  return d;
}
