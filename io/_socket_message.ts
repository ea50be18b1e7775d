// The message family of Socket (sendmsg, recvmsg, recvmsgInto): Python's
// scatter/gather calls, built on send/recvfrom. Deno has no API for ancillary
// data (file descriptors, credentials), so asking for any is an error that
// says so; what is left is gathering buffers before sending and scattering
// received bytes over buffers.

/** Throws the error for a call that asked for ancillary data. */
export function noAncillary(action: string): never {
  throw new Error(
    `Cannot ${action} with ancillary data: Deno has no API for ancillary data (SCM_RIGHTS, credentials)`,
  );
}

/** The buffers one after the other (the only buffer itself, uncopied). */
export function concat(buffers: Uint8Array[]): Uint8Array {
  if (buffers.length === 1) return buffers[0]!;
  let n = 0;
  for (const b of buffers) n += b.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const b of buffers) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** The total length of `buffers`. */
export function totalLength(buffers: Uint8Array[]): number {
  let total = 0;
  for (const b of buffers) total += b.length;
  return total;
}

/** Copies `data` over `buffers`, filling each in order. */
export function scatter(data: Uint8Array, buffers: Uint8Array[]): void {
  let at = 0;
  for (const b of buffers) {
    if (at >= data.length) break;
    const part = data.subarray(at, at + b.length);
    b.set(part);
    at += part.length;
  }
}
