/**
 * Builds whole frames for the proxy's own traffic (injected, modified, close). Relayed frames do
 * not come through here: they keep their header bytes as received.
 */
import { encodeHeader, type HeaderFields } from './frame-header.js';
import { masked } from './mask.js';

export interface FrameSpec extends Omit<HeaderFields, 'payloadLength'> {
  readonly payload: Uint8Array;
}

/** [header, payload]: two buffers so a writer can cork them instead of concatenating. */
export function encodeFrame(spec: FrameSpec): [Buffer, Uint8Array] {
  const header = encodeHeader({ ...spec, payloadLength: spec.payload.length });
  const key = spec.maskKey ?? null;
  if (key === null || spec.payload.length === 0) return [header, spec.payload];
  return [header, masked(spec.payload, key)];
}

/** One buffer holding the whole frame (tests and small control frames). */
export function encodeFrameBuffer(spec: FrameSpec): Buffer {
  const [header, payload] = encodeFrame(spec);
  return Buffer.concat([header, payload]);
}
