// Leaks: after run() returns, nothing of ours is left open. The sanitizers
// (--sanitize-ops --sanitize-resources) check every test; this one also
// counts the open file descriptors (Deno 2 has no Deno.resources()) around
// kernel runs that cancel every kind of operation mid-flight: socket reads,
// a server with clients, a child process, a worker thread call, a signal
// wait, timeouts. Descriptors are per process, so the census runs in a
// process of its own (_leak_census.ts).

import assert from "node:assert/strict";

Deno.test("leaks: after run() returns, every descriptor a cancelled workload opened is closed", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL("./_leak_census.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert(out.success, `the census failed: ${new TextDecoder().decode(out.stderr)}`);
  const { before, after } = JSON.parse(text.trim().split("\n").at(-1)!) as {
    before: string[];
    after: string[];
  };
  assert(before.length > 0);
  assert.deepEqual(after, before, "descriptors left open after run() returned");
});
