/**
 * The relay's XOR in native code when the `bufferutil` package (the one `ws` uses) loads: 3-4x the
 * speed of the JavaScript word loop on large payloads, which every masked byte that crosses the
 * proxy pays once. Without it (no prebuilt binary for the platform) masking stays in JavaScript.
 */
import { createRequire } from 'node:module';
import { useNativeMask, type NativeMask } from '../protocol/mask.js';

interface BufferUtil {
  readonly mask: NativeMask;
}

let state: 'native' | 'javascript' | null = null;

/** Plugs the native XOR into the protocol core once; says which one is in use. */
export function installNativeMask(): 'native' | 'javascript' {
  if (state !== null) return state;
  try {
    const util = createRequire(import.meta.url)('bufferutil') as BufferUtil;
    // Check it on a known vector before trusting it (RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d).
    const out = Buffer.alloc(5);
    util.mask(Buffer.from('Hello'), Buffer.from([0x37, 0xfa, 0x21, 0x3d]), out, 0, 5);
    if (out.toString('hex') !== '7f9f4d5158') throw new Error('bufferutil gave a wrong XOR');
    useNativeMask(util.mask);
    state = 'native';
  } catch {
    state = 'javascript';
  }
  return state;
}
