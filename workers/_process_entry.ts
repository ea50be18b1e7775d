// The child `deno` process side of runInProcess: reads framed requests from
// stdin, runs them one at a time, writes framed replies to stdout.
//
// A frame is a 4-byte magic, a 4-byte little-endian length, and a V8
// structured-clone serialization. stdout belongs to the protocol, so
// console.log and friends are redirected to stderr; anything else written
// to stdout is detected by the parent as garbage and ends this process.

import { deserialize, serialize } from "node:v8";
import {
  compile,
  encodeError,
  type JobDef,
  loadExport,
  type Reply,
  type Request,
  resultCloneError,
  selfContainedHint,
} from "./_wire.ts";
import { frame, FrameDecoder } from "./_frames.ts";

const fns = new Map<number, unknown>();
const defs = new Map<number, JobDef>();
const modules = new Map<string, Promise<Record<string, unknown>>>();

for (const name of ["log", "info", "debug", "dir", "table"] as const) {
  (console as unknown as Record<string, unknown>)[name] = console.error;
}

function send(reply: Reply): void {
  let payload: Uint8Array;
  try {
    payload = serialize(reply);
  } catch (error) {
    payload = serialize(
      {
        ok: false,
        error: resultCloneError(error, "a worker process"),
      } satisfies Reply,
    );
  }
  const bytes = frame(payload);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

async function handle(request: Request): Promise<void> {
  const { key, def, args } = request;
  if (def !== undefined) defs.set(key, def);
  const known = defs.get(key);
  const fromSource = known !== undefined && "src" in known;
  let fn = fns.get(key);
  try {
    if (fn === undefined) {
      if (known === undefined) throw new Error(`curio worker: unknown function key ${key}`);
      fn = "src" in known ? compile(known, "process") : await loadExport(known, modules);
      if (typeof fn !== "function") {
        throw new TypeError(
          "Cannot run function in a worker process: its source is not a function",
        );
      }
      fns.set(key, fn);
    }
  } catch (error) {
    send({ ok: false, error: encodeError(error) });
    return;
  }
  try {
    const value = await (fn as (...a: unknown[]) => unknown)(...args);
    send({ ok: true, value });
  } catch (error) {
    send({ ok: false, error: encodeError(fromSource ? selfContainedHint(error) : error) });
  }
}

function crash(error: unknown): void {
  try {
    send({ crash: encodeError(error) });
  } finally {
    Deno.exit(1);
  }
}

globalThis.addEventListener("error", (event) => {
  event.preventDefault();
  crash(event.error);
});
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  crash(event.reason);
});

const frames = new FrameDecoder();
for await (const chunk of Deno.stdin.readable) {
  frames.push(chunk);
  for (;;) {
    const payload = frames.next();
    if (payload === undefined) break;
    if (payload === null) {
      console.error("curio worker process: bad frame on stdin, exiting");
      Deno.exit(2);
    }
    await handle(deserialize(payload) as Request);
  }
}
Deno.exit(0);
