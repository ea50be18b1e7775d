// The framing of runInProcess's pipes: a 4-byte magic ("CRIO"), a 4-byte
// little-endian payload length, the payload. Used by both ends; imports
// nothing, so the child starts fast.

const MAGIC = 0x4f495243;

/** Wraps `payload` in a frame. */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, payload.length, true);
  out.set(payload, 8);
  return out;
}

/**
 * Collects chunks read from a pipe and cuts them into payloads, copying
 * each byte once (no re-concatenation per chunk for large frames).
 */
export class FrameDecoder {
  #chunks: Uint8Array[] = [];
  #size = 0;

  /** Adds bytes read from the pipe. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }

  /**
   * The next complete payload; `undefined` if more bytes are needed; `null`
   * if the bytes are not a frame (see `peek()` for what they are).
   */
  next(): Uint8Array | undefined | null {
    if (this.#size < 8) return undefined;
    const head = this.#contiguous(8);
    const view = new DataView(head.buffer, head.byteOffset, 8);
    if (view.getUint32(0, true) !== MAGIC) return null;
    const length = view.getUint32(4, true);
    if (this.#size < 8 + length) return undefined;
    const all = this.#contiguous(8 + length);
    const payload = all.subarray(8, 8 + length);
    // Drop the frame: the first chunk now starts with it.
    const first = this.#chunks[0]!;
    if (first.length === 8 + length) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(8 + length);
    this.#size -= 8 + length;
    return payload;
  }

  /** The first bytes buffered (for an error message). */
  peek(n: number): Uint8Array {
    return this.#contiguous(Math.min(n, this.#size)).subarray(0, Math.min(n, this.#size));
  }

  // Makes the first chunk at least `n` bytes long by merging chunks.
  #contiguous(n: number): Uint8Array {
    const chunks = this.#chunks;
    if (chunks[0]!.length >= n) return chunks[0]!;
    let count = 0;
    let have = 0;
    while (have < n) have += chunks[count++]!.length;
    const merged = new Uint8Array(have);
    let at = 0;
    for (let i = 0; i < count; i++) {
      merged.set(chunks[i]!, at);
      at += chunks[i]!.length;
    }
    chunks.splice(0, count, merged);
    return merged;
  }
}
