/**
 * Timing out a slow HTTP request: the kernel can only interrupt what it can
 * reach. A local `Deno.serve` answers after 5 s; the client gives it 0.5 s,
 * three ways:
 *
 * 1. `fetch(url, { signal: currentSignal() })`: the timeout aborts the
 *    request itself, which rejects with the block's `TaskTimeout`.
 * 2. `wait((signal) => fetch(url, { signal }))`: the wait is a kernel
 *    operation; the timeout raises at once and aborts the request.
 * 3. A plain `await fetch(url)`: the kernel cannot reach it. The timeout
 *    lands only at the next blocking operation, after the response has
 *    arrived 5 s later (curio prints a line saying so).
 *
 * Run: deno run --allow-net examples/fetch_timeout.ts
 *
 * @module
 */

import {
  currentSignal,
  ignoreAfter,
  run,
  sleep,
  TaskTimeout,
  timeoutAfter,
  wait,
} from "@curio/curio";

// Handlers still waiting when the example ends, released before shutdown.
const waiting = new Set<() => void>();
const slowServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
  await new Promise<void>((resolve) => {
    const release = () => {
      clearTimeout(timer);
      waiting.delete(release);
      resolve();
    };
    const timer = setTimeout(release, 5000); // answer after 5 s
    waiting.add(release);
  });
  return new Response("finally, an answer");
});
const url = `http://127.0.0.1:${slowServer.addr.port}/`;

async function timed(label: string, work: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  let outcome: string;
  try {
    outcome = `got ${JSON.stringify(await work())}`;
  } catch (error) {
    outcome = error instanceof TaskTimeout ? `TaskTimeout: ${error.message}` : String(error);
  }
  console.log(`${label}: ${outcome} after ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

await run(async () => {
  await timed("fetch with currentSignal()", () =>
    timeoutAfter(0.5, async () => {
      const response = await fetch(url, { signal: currentSignal() });
      return await response.text();
    }));

  await timed("wait((signal) => fetch(...))", () =>
    timeoutAfter(0.5, async () => {
      const response = await wait((signal) => fetch(url, { signal }));
      return await wait(response.text());
    }));

  await timed("plain await fetch(), ignoreAfter", () =>
    ignoreAfter(0.5, async () => {
      const response = await fetch(url); // out of the kernel's reach
      const text = await response.text();
      await sleep(0); // the next blocking operation: the timeout lands here
      return text;
    }, { timeoutResult: "(timed out, but only once the response was in)" }));
});

for (const release of waiting) release();
await slowServer.shutdown();
