import assert from "node:assert/strict";
import { WorkerFunction, workerFunction } from "@curio/curio";

Deno.test("workerFunction() accepts a URL, a URL string or an absolute path", () => {
  const url = new URL("./fixtures/work.ts", import.meta.url);
  const a = workerFunction(url, "crunch");
  assert(a instanceof WorkerFunction);
  assert.equal(a.module, url.href);
  assert.equal(a.exportName, "crunch");
  assert.equal(workerFunction(url.href, "crunch").module, url.href);
  assert.equal(workerFunction("/tmp/my work.ts", "f").module, "file:///tmp/my%20work.ts");
  assert(Object.isFrozen(a));
});

Deno.test("workerFunction() rejects relative paths and bad export names with TypeError", () => {
  assert.throws(
    () => workerFunction("./work.ts", "f"),
    (e: unknown) =>
      e instanceof TypeError && /expected the module as a URL or an absolute path/.test(e.message),
  );
  assert.throws(() => workerFunction(42 as never, "f"), TypeError);
  assert.throws(() => workerFunction("file:///w.ts", ""), /exportName must be the name/);
  assert.throws(() => workerFunction("file:///w.ts", 1 as never), TypeError);
});
