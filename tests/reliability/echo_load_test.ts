// The soak's echo load in small: 50 clients echo through one server for 1.5 s
// under random timeouts and random resets (client-side drops and
// server-side drops on request), then reconnect. No echo may differ by a
// byte, nothing unexpected may fail, and the descriptors must be back to
// their baseline. In a process of its own (_echo_load.ts run as a program),
// since descriptors are per process.

import assert from "node:assert/strict";
import type { EchoLoadReport } from "./_echo_load.ts";

Deno.test("echo load: 50 clients with random timeouts and resets; no echo differs, descriptors back to baseline", async () => {
  const seed = Math.floor(Math.random() * 2 ** 31);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL("./_echo_load.ts", import.meta.url).pathname],
    env: {
      CURIO_LOAD_CONNECTIONS: "50",
      CURIO_LOAD_SECONDS: "1.5",
      CURIO_LOAD_SEED: String(seed),
      CURIO_LOAD_RESETS: "1",
      CURIO_LOAD_RESET_EVERY: "50",
    },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert(out.success, `the load failed (seed ${seed}):\n${stderr}`);
  const r = JSON.parse(
    new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!,
  ) as EchoLoadReport;
  const where = `(seed ${seed}; replay with CURIO_LOAD_SEED=${seed})`;
  assert.deepEqual(r.errorSamples, [], `unexpected errors ${where}`);
  assert.equal(r.errors, 0);
  assert.equal(r.connected, 50, `not every client connected ${where}`);
  assert(r.roundTrips > 50, `only ${r.roundTrips} round trips ${where}`);
  assert(r.clientResets > 0 && r.serverResets > 0, `no resets happened ${where}`);
  assert(r.reconnects >= r.clientResets + r.serverResets, "clients did not reconnect");
  assert.deepEqual(r.newFds, [], `descriptors left open ${where}`);
  assert.equal(r.fdsAfter, r.fdsBefore);
});
