// SharedLock and SharedQueue given to runInThread as top-level arguments
// travel as their buffers and are rebuilt in the worker.

import { SharedLock, SharedQueue } from "./shared.ts";

const TAG = "__curioShared";

interface SharedToken {
  readonly [TAG]: "SharedLock" | "SharedQueue";
  readonly buffer: SharedArrayBuffer;
}

/** Whether an argument is a shared primitive (the sender's cheap check). */
export function isShared(value: unknown): value is SharedLock | SharedQueue {
  return value instanceof SharedLock || value instanceof SharedQueue;
}

/** Replaces shared primitives among `args` by tokens. */
export function encodeShared(args: unknown[]): unknown[] {
  return args.map((arg): unknown => {
    if (arg instanceof SharedLock) return { [TAG]: "SharedLock", buffer: arg.buffer };
    if (arg instanceof SharedQueue) return { [TAG]: "SharedQueue", buffer: arg.buffer };
    return arg;
  });
}

/** Whether some argument is a token (so the receiver must load this module). */
export function hasSharedTokens(args: unknown[]): boolean {
  for (const arg of args) {
    if (typeof arg === "object" && arg !== null && TAG in arg) return true;
  }
  return false;
}

/** Rebuilds the shared primitives from tokens. */
export function reviveShared(args: unknown[]): unknown[] {
  return args.map((arg): unknown => {
    if (typeof arg !== "object" || arg === null || !(TAG in arg)) return arg;
    const token = arg as SharedToken;
    return token[TAG] === "SharedLock"
      ? SharedLock.fromBuffer(token.buffer)
      : SharedQueue.fromBuffer(token.buffer);
  });
}
