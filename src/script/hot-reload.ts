/**
 * Watches the files of a script and calls back (debounced) when one of them changes. Directories
 * are watched rather than files, so editors that save by writing a new file and renaming it over
 * the old one are seen too.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface FileWatcher {
  /** Replaces the set of watched files. */
  update(files: readonly string[]): void;
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last change before the callback runs. */
  readonly debounceMs?: number;
  readonly onError?: (error: Error) => void;
}

export function watchFiles(files: readonly string[], onChange: () => void, options: WatchOptions = {}): FileWatcher {
  const debounce = options.debounceMs ?? 100;
  const dirs = new Map<string, FSWatcher>();
  let watched = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const schedule = (): void => {
    if (closed) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      if (!closed) onChange();
    }, debounce);
  };

  const update = (next: readonly string[]): void => {
    if (closed) return;
    watched = new Set(next);
    const wantDirs = new Set(next.map((f) => dirname(f)));
    for (const [dir, w] of dirs) {
      if (!wantDirs.has(dir)) {
        w.close();
        dirs.delete(dir);
      }
    }
    for (const dir of wantDirs) {
      if (dirs.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, (_event, filename) => {
          // No name means the platform could not say which file: assume one of ours.
          if (filename === null || watched.has(join(dir, basename(filename.toString())))) schedule();
        });
        w.on('error', (error) => options.onError?.(error));
        dirs.set(dir, w);
      } catch (error) {
        options.onError?.(error as Error);
      }
    }
  };

  update(files);
  return {
    update,
    close(): void {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      for (const w of dirs.values()) w.close();
      dirs.clear();
    },
  };
}
