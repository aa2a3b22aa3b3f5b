// Preloaded into the proxy by bench/heap-at-rest.ts (node --expose-gc --require): on request over
// IPC, collects in full twice and answers with the heap V8 then holds. Preloaded, its channel is
// unref'd, so it keeps nothing alive; run as the main script, it is the bare Node to compare with.
'use strict';
const v8 = require('node:v8');
if (require.main !== module) process.channel?.unref();
process.on('message', (m) => {
  if (m !== 'heap') return;
  globalThis.gc();
  globalThis.gc();
  process.send?.({ usedBytes: v8.getHeapStatistics().used_heap_size });
});
