/** A PipeHost for a DirectionPipe fed by hand: session 1, fixed key KEY_B, nothing written anywhere. */
import type { EventEmitter } from 'eventemitter3';
import type { PipeHost } from '../../src/proxy/direction-pipe.js';
import type { ProxyEvents } from '../../src/proxy/events.js';
import { Sequencer } from '../../src/proxy/sequencer.js';
import { KEY_B } from './frames.js';

export function testPipeHost(bus: EventEmitter<ProxyEvents>, overrides: Partial<PipeHost> = {}): PipeHost {
  let id = 1;
  return {
    session: 1,
    bus,
    limits: { maxPreview: 64 * 1024, maxMessage: 1 << 20 },
    keys: () => KEY_B,
    signal: new AbortController().signal,
    records: new Sequencer(),
    now: () => 0,
    nextId: () => id++,
    interceptors: () => [],
    write: () => undefined,
    violation: () => undefined,
    closeFrame: () => undefined,
    pressure: () => undefined,
    chainError: (name, error) => {
      throw new Error(`${name}: ${String(error)}`);
    },
    idle: () => undefined,
    ...overrides,
  };
}
