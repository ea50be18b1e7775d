import assert from "node:assert/strict";
import { workerLimits } from "@curio/curio";

Deno.test("workerLimits defaults to 64 threads and the CPU count of processes", () => {
  assert.equal(workerLimits.maxThreads, 64);
  assert.equal(workerLimits.maxProcesses, navigator.hardwareConcurrency);
});

Deno.test("workerLimits rejects anything but a positive integer with RangeError", () => {
  for (const bad of [0, -1, 1.5, NaN, "2" as never]) {
    assert.throws(() => {
      workerLimits.maxThreads = bad;
    }, RangeError);
    assert.throws(() => {
      workerLimits.maxProcesses = bad;
    }, /Cannot set workerLimits\.maxProcesses: expected a positive integer/);
  }
  assert.equal(workerLimits.maxThreads, 64);
});
