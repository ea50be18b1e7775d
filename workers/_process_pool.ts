// The warm `deno` child processes behind runInProcess.

import { deserialize, serialize } from "node:v8";
import { Pool, poolOf } from "./_pool.ts";
import { workerLimits } from "./limits.ts";
import type { Job, Reply, Request } from "./_wire.ts";
import { frame, FrameDecoder } from "./_frames.ts";

const entry = new URL("./_process_entry.ts", import.meta.url).href;
/** Seconds between SIGTERM and SIGKILL for a cancelled call's process. */
export const KILL_GRACE = 1;

const PERMISSIONS = ["read", "write", "net", "env", "run", "ffi", "sys", "import"] as const;
let flags: string[] | undefined;

/**
 * The permission flags for children: each permission the parent holds in
 * full is passed on (`-A` if all of them). Grants limited to some paths or
 * hosts cannot be read back from Deno and are not passed on.
 */
export function childFlags(): string[] {
  if (flags !== undefined) return flags;
  const granted = PERMISSIONS.filter((name) => {
    try {
      return Deno.permissions.querySync({ name } as Deno.PermissionDescriptor).state === "granted";
    } catch {
      return false;
    }
  });
  flags = granted.length === PERMISSIONS.length
    ? ["--allow-all"]
    : granted.map((name) => `--allow-${name}`);
  return flags;
}

function crashReply(message: string): Reply {
  return { lost: message };
}

/** One warm child process running one call at a time. */
export class ProcessWorker {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #known = new Set<number>();
  readonly #done: Promise<void>;
  #pending: ((reply: Reply) => void) | undefined = undefined;
  #alive = true;
  #exited = false;

  constructor() {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--no-prompt", ...childFlags(), entry],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#writer.closed.catch(() => {});
    this.#done = this.#readLoop();
  }

  get alive(): boolean {
    return this.#alive;
  }

  get busy(): boolean {
    return this.#pending !== undefined;
  }

  /** Serializes and sends a call; throws synchronously (nothing sent) if args cannot be serialized. */
  start(job: Job, args: unknown[]): Promise<Reply> {
    const known = this.#known.has(job.key);
    const request: Request = known ? { key: job.key, args } : { key: job.key, def: job.def, args };
    const bytes = frame(serialize(request));
    if (!known) this.#known.add(job.key);
    const reply = new Promise<Reply>((resolve) => {
      this.#pending = resolve;
    });
    this.#writer.write(bytes).catch(() => {
      // The child is gone; the read loop reports how it ended.
    });
    return reply;
  }

  #settle(reply: Reply): void {
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.(reply);
  }

  async #readLoop(): Promise<void> {
    const reader = this.#child.stdout.getReader();
    const frames = new FrameDecoder();
    let garbage: Uint8Array | undefined;
    try {
      reading: for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        frames.push(value);
        for (;;) {
          const payload = frames.next();
          if (payload === undefined) break;
          let reply: Reply | undefined;
          try {
            if (payload !== null) reply = deserialize(payload) as Reply;
          } catch {
            // not a serialization: garbage
          }
          if (reply === undefined) {
            garbage = frames.peek(40);
            break reading;
          }
          if ("crash" in reply) this.#alive = false;
          this.#settle(reply);
        }
      }
    } catch {
      // A read error ends the worker like EOF does.
    }
    this.#alive = false;
    if (garbage !== undefined) {
      const text = new TextDecoder().decode(garbage).split("CRIO")[0]!
        .replace(/[^\x20-\x7e]/g, "?");
      this.#settle(crashReply(
        `the child process wrote something other than a curio reply to its stdout (${
          JSON.stringify(text)
        }); write output to stderr instead`,
      ));
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await reader.cancel().catch(() => {});
    }
    reader.releaseLock();
    const status = await this.#child.status;
    this.#exited = true;
    await this.#writer.close().catch(() => {});
    this.#settle(crashReply(
      `the child process ${
        status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`
      } before replying`,
    ));
  }

  /** Ends the process: by closing its stdin (idle), or SIGTERM then SIGKILL (force). */
  async retire(force: boolean): Promise<void> {
    this.#alive = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (this.#exited) {
      // nothing to stop
    } else if (force) {
      const kill = (signal: Deno.Signal) => {
        try {
          this.#child.kill(signal);
        } catch {
          // already gone
        }
      };
      kill("SIGTERM");
      timer = setTimeout(() => kill("SIGKILL"), KILL_GRACE * 1000);
    } else {
      await this.#writer.close().catch(() => {});
    }
    try {
      await this.#done;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }
}

/** The calling kernel's process pool. */
export function processPool(): Promise<Pool<ProcessWorker>> {
  return poolOf(
    "process",
    () => new Pool(() => new ProcessWorker(), () => workerLimits.maxProcesses, "PROCESS_ACQUIRE"),
  );
}
