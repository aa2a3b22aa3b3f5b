/**
 * A gate between a pipe's output and the socket it writes to, for faults that pace bytes
 * (throttle, trickle). Without one, writes go straight to the socket: the relay's path is the
 * same as ever when no gate is set.
 */

/** What a gate writes to: the destination socket, seen through the session. */
export interface GateSink {
  /** Writes to the socket; false when the socket wants a drain first. */
  write(chunk: Uint8Array): boolean;
  /** Calls `fn` once the socket has drained. */
  onDrain(fn: () => void): void;
  /** The gate holds more (true) or again less (false) than it should: pause the sender or resume it. */
  pressure(over: boolean): void;
  /** The gate ran empty. */
  empty(): void;
}

export interface WriteGate {
  /** Takes bytes to write, in order. Never refuses: past its bound it asks for the sender to be paused. */
  write(segments: readonly Uint8Array[]): void;
  /** Bytes taken but not yet written to the socket. */
  readonly pending: number;
  /** Stops pacing and hands back what was not written yet, in order. */
  detach(): Uint8Array[];
}

export type GateFactory = (sink: GateSink) => WriteGate;
