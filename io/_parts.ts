// How a Socket lends its buffered read and write sides to the streams built
// on it (asStream, makefile): they share one Reader and one Writer, so bytes a
// cancelled recv left buffered are the stream's next bytes, and vice versa.

import type { Reader } from "./_reader.ts";
import type { Writer } from "./_writer.ts";

/** What a stream needs from the object it wraps. */
export interface StreamParts {
  reader: Reader | null;
  writer: Writer | null;
  /** Closes what the stream owns (for makefile streams: nothing). */
  close(): Promise<void>;
  /** Half-closes the sending side (SocketStream.writable). */
  closeWrite?: () => Promise<void>;
  /** What `blocking()` returns. */
  raw: unknown;
}

/** The method through which an object offers its StreamParts. */
export const streamParts: unique symbol = Symbol("curio.streamParts");
