import assert from "node:assert/strict";
import {
  ARROW_RULES,
  cycleEdges,
  findCycles,
  findWrongArrows,
  type ImportEdge,
  isTypeOnly,
} from "./check_imports.ts";

function edge(from: string, to: string, typeOnly = false): ImportEdge {
  return { from, to, typeOnly };
}

Deno.test("findCycles() returns nothing for an acyclic graph", () => {
  const edges = [edge("a.ts", "b.ts"), edge("b.ts", "c.ts"), edge("a.ts", "c.ts")];
  assert.deepEqual(findCycles(edges), []);
});

Deno.test("findCycles() reports each elementary cycle once, from its smallest file", () => {
  const edges = [
    edge("io/w.ts", "io/s.ts"),
    edge("io/s.ts", "io/w.ts", true),
    edge("io/s.ts", "io/i.ts"),
    edge("io/i.ts", "io/w.ts", true),
    edge("io/w.ts", "io/i.ts"),
  ];
  assert.deepEqual(findCycles(edges), [
    ["io/i.ts", "io/w.ts", "io/i.ts"],
    ["io/i.ts", "io/w.ts", "io/s.ts", "io/i.ts"],
    ["io/s.ts", "io/w.ts", "io/s.ts"],
  ]);
});

Deno.test("findCycles() reports a file that imports itself", () => {
  assert.deepEqual(findCycles([edge("x.ts", "x.ts")]), [["x.ts", "x.ts"]]);
});

Deno.test("findCycles() stops at the limit", () => {
  const edges = [
    edge("a.ts", "b.ts"),
    edge("b.ts", "a.ts"),
    edge("c.ts", "d.ts"),
    edge("d.ts", "c.ts"),
  ];
  assert.equal(findCycles(edges, 1).length, 1);
});

Deno.test("isTypeOnly() is true only when every step of the cycle is type-only", () => {
  const edges = [edge("a.ts", "b.ts", true), edge("b.ts", "a.ts", true), edge("b.ts", "c.ts")];
  assert.equal(isTypeOnly(["a.ts", "b.ts", "a.ts"], edges), true);
  const mixed = [edge("a.ts", "b.ts"), edge("b.ts", "a.ts", true)];
  assert.equal(isTypeOnly(["a.ts", "b.ts", "a.ts"], mixed), false);
});

Deno.test("cycleEdges() drops an allowed import only while it is type-only", () => {
  const allowed = [{ from: "s.ts", to: "w.ts" }];
  const typeOnly = [edge("w.ts", "s.ts"), edge("s.ts", "w.ts", true)];
  assert.deepEqual(findCycles(cycleEdges(typeOnly, allowed)), []);
  const runtime = [edge("w.ts", "s.ts"), edge("s.ts", "w.ts")];
  assert.deepEqual(findCycles(cycleEdges(runtime, allowed)), [["s.ts", "w.ts", "s.ts"]]);
});

Deno.test("findWrongArrows() flags kernel/ importing upward and sync/ importing io/ or workers/", () => {
  const edges = [
    edge("kernel/kernel.ts", "kernel/traps.ts"),
    edge("kernel/kernel.ts", "monitor/_server.ts", true),
    edge("kernel/x.ts", "http/server.ts"),
    edge("sync/lock.ts", "kernel/traps.ts"),
    edge("sync/queue.ts", "workers/shared.ts"),
    edge("io/socket.ts", "sync/event.ts"),
    edge("workers/abide.ts", "sync/lock.ts"),
  ];
  const wrong = findWrongArrows(edges, ARROW_RULES).map((w) =>
    `${w.edge.from} -> ${w.edge.to}: ${w.message}`
  );
  assert.deepEqual(wrong, [
    "kernel/kernel.ts -> monitor/_server.ts: kernel/ may not import monitor/",
    "kernel/x.ts -> http/server.ts: kernel/ may not import http/",
    "sync/queue.ts -> workers/shared.ts: sync/ may not import workers/",
  ]);
});

Deno.test("findWrongArrows() flags a private kernel file imported from outside kernel/", () => {
  const edges = [
    edge("kernel/kernel.ts", "kernel/_core.ts"),
    edge("io/socket.ts", "kernel/_core.ts", true),
    edge("mod.ts", "kernel/_time_queue.ts"),
    edge("io/socket.ts", "kernel/traps.ts"),
    edge("io/socket.ts", "io/_reader.ts"),
  ];
  const wrong = findWrongArrows(edges).map((w) => `${w.edge.from} -> ${w.edge.to}: ${w.message}`);
  assert.deepEqual(wrong, [
    "io/socket.ts -> kernel/_core.ts: only kernel/ may import its private files",
    "mod.ts -> kernel/_time_queue.ts: only kernel/ may import its private files",
  ]);
});

Deno.test("check_imports.ts passes on this repository and exits 0", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-run",
      new URL("./check_imports.ts", import.meta.url).pathname,
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(
    out.code,
    0,
    `check_imports.ts failed:\n${text}${new TextDecoder().decode(out.stderr)}`,
  );
  assert.match(text, /no cycle, no wrong-way import among \d+ source files/);
});
