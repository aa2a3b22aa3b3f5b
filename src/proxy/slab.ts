/**
 * Small buffers cut from one shared slab, as Buffer.allocUnsafe cuts them from its pool, but with a
 * DataView of the slab beside it, so that a preview is written four bytes a read (mask.ts
 * unmaskWords). One slab for the process, like Node's pool: a session costs no slab of its own.
 * A slice keeps its slab alive, as a pool slice does.
 */
const SIZE = 8 * 1024;
/** The largest piece cut from a slab; larger ones get their own buffer. */
export const SLAB_PIECE = 256;

class Slab {
  view: DataView = new DataView(new ArrayBuffer(0));
  #memory = new ArrayBuffer(0);
  #at = SIZE;

  /** Room for n bytes (at most SLAB_PIECE): where they start in `view`, which may be a new slab's. */
  take(n: number): number {
    if (this.#at + n > SIZE) {
      this.#memory = new ArrayBuffer(SIZE);
      this.view = new DataView(this.#memory);
      this.#at = 0;
    }
    const at = this.#at;
    this.#at += n;
    return at;
  }

  /** The slab pieces are being cut from now. */
  get memory(): ArrayBuffer {
    return this.#memory;
  }

  /** The last slab used up whose view was asked for (records read after a batch, later-records.ts). */
  #older: ArrayBuffer | null = null;
  #olderView: DataView = this.view;

  /** A DataView of `memory`, a slab's: the current one's own, else made (a slab used up since). */
  viewOf(memory: ArrayBuffer): DataView {
    if (memory === this.#memory) return this.view;
    if (memory !== this.#older) {
      this.#older = memory;
      this.#olderView = new DataView(memory);
    }
    return this.#olderView;
  }

  /** The piece view[at, at + n), as a Buffer (what every frame record's payload is). */
  piece(at: number, n: number): Buffer {
    return Buffer.from(this.#memory, at, n);
  }
}

export const slab = new Slab();

/**
 * A frame's preview that still lies in a slab (Current.slabMemory, slabAt, previewLen say where):
 * its Buffer is made only if an observer asks for the record's payload. The headless printer does
 * not: it copies the bytes from the slab (pipe-records.ts copyPayload).
 */
export const IN_SLAB: Uint8Array = new Uint8Array(0);
