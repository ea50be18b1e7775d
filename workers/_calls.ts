// What runInThread and runInProcess share around a call: naming the
// argument that cannot be cloned, and turning a failed reply into an error.

import { describe, type Reply, type WireError } from "./_wire.ts";

/**
 * The error for arguments that cannot be sent: a DataCloneError naming the
 * first argument that fails `structuredClone` on its own.
 */
export function cloneFailure(
  error: unknown,
  args: unknown[],
  verb: string,
  to: string,
  check: (value: unknown) => unknown = structuredClone,
): unknown {
  let index = -1;
  for (let i = 0; i < args.length && index === -1; i++) {
    try {
      check(args[i]);
    } catch {
      index = i;
    }
  }
  const detail = error instanceof Error ? error.message : String(error);
  if (index === -1) {
    if (
      error instanceof Error &&
      (error.name === "DataCloneError" || /could not be cloned/.test(detail))
    ) {
      return new DOMException(`Cannot ${verb} the arguments to ${to}: ${detail}`, "DataCloneError");
    }
    return error;
  }
  return new DOMException(
    `Cannot ${verb} argument ${index} (${
      describe(args[index])
    }) to ${to}: it cannot be structured-cloned (${detail}); pass plain data such as numbers, strings, arrays, objects, Maps, typed arrays`,
    "DataCloneError",
  );
}

/** The error a non-ok reply stands for. */
export function replyValue(
  reply: Reply,
  fnName: string,
  where: string,
  decode: (wire: WireError, where: string, callerStack?: string) => Error,
): Error {
  const callerStack = new Error().stack;
  if ("ok" in reply) {
    if (!reply.ok) return decode(reply.error, fnName, callerStack);
    return new Error("unreachable");
  }
  if ("crash" in reply) {
    const cause = decode(reply.crash, fnName, callerStack);
    return new Error(
      `Cannot run function in ${where}: the worker crashed before replying (${cause.name}: ${cause.message})`,
      { cause },
    );
  }
  return new Error(`Cannot run function in ${where}: ${reply.lost}`);
}

/**
 * Sockets, files and streams are class instances that structured clone
 * would silently turn into empty plain objects: reject them by name.
 */
export function resourceError(arg: unknown, index: number, to: string): TypeError | undefined {
  if (typeof arg !== "object" || arg === null) return undefined;
  const o = arg as Record<PropertyKey, unknown>;
  if (
    typeof o.close === "function" || typeof o[Symbol.asyncDispose] === "function" ||
    typeof o[Symbol.dispose] === "function"
  ) {
    return new TypeError(
      `Cannot send argument ${index} (${
        describe(arg)
      }) to ${to}: it is a resource (a socket, file, stream or similar) that cannot be structured-cloned; open it in the worker instead`,
    );
  }
  return undefined;
}
