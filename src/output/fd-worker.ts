/** The thread behind FdWriter (fd-writer.ts): writes each chunk whole, and says when done or why not. */
import { parentPort, workerData } from 'node:worker_threads';
import { writeAll } from './write-all.js';

const { fd } = workerData as { readonly fd: number };

parentPort!.on('message', (chunk: Uint8Array) => {
  try {
    writeAll(fd, chunk);
    parentPort!.postMessage({ done: chunk.length });
  } catch (error) {
    parentPort!.postMessage({ error: (error as NodeJS.ErrnoException).code ?? String(error) });
  }
});
