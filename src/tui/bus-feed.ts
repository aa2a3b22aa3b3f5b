/** Feeds the proxy's bus into the store, asking for a render after each event. */
import { subscribe, type ProxyBus } from '../proxy/events.js';
import { httpSummary } from '../output/format.js';
import type { TuiStore } from './store.js';

/** Returns the unsubscriber. */
export function feedStore(bus: ProxyBus, store: TuiStore, now: () => number, changed: () => void): () => void {
  return subscribe(bus, {
    'session-open': (info) => {
      store.addSession(info);
      changed();
    },
    frame: (frame) => {
      store.addFrame(frame);
      changed();
    },
    message: (message) => {
      store.addMessage(message);
      changed();
    },
    violation: (violation) => {
      store.addViolation(violation);
      changed();
    },
    'session-close': (close) => {
      store.closeSession(close);
      changed();
    },
    log: (log) => {
      store.addLog(log);
      changed();
    },
    // A plain HTTP request is a line among the frames, as in the headless output; one the proxy
    // answered itself (502/504) or that got no answer stands out.
    http: (r) => {
      store.addLog({ session: null, time: r.time, source: 'http', level: r.answeredBy === 'proxy' || r.status === null ? 'warn' : 'info', text: httpSummary(r) });
      changed();
    },
    fault: (fault) => {
      store.addFault(fault);
      changed();
    },
    reconnects: (r) => {
      const verdict = r.attempts < 3 ? 'too few attempts to judge' : `${r.backoff ? 'backs off' : 'NO backoff'}, ${r.jitter ? 'jittered' : 'no jitter'}`;
      store.addLog({ session: null, time: r.time, source: 'reconnects', level: r.backoff || r.attempts < 3 ? 'info' : 'warn', text: `${r.client} ${r.path}: ${r.attempts} attempt(s), ${r.refused} refused; ${verdict}; intervals ${r.intervals.join(',')} ms` });
      changed();
    },
    error: (error, where) => {
      store.addLog({ session: where.session, time: now(), source: 'error', level: 'error', text: error.message });
      changed();
    },
    // The rows keep at most the store's cap of a payload (proxy/preview-demand.ts).
  }, { previewBytes: store.maxPreview });
}
