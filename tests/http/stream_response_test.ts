import assert from "node:assert/strict";
import {
  CancelledError,
  currentTask,
  Event,
  run,
  sleep,
  spawn,
  streamResponse,
  type Task,
  timeoutAfter,
} from "@curio/curio";
import { captureErrors, startServer } from "./_serve.ts";

const decoder = new TextDecoder();

Deno.test("streamResponse() body is written by the request's task and ends when the producer returns", async () => {
  await run(async () => {
    const writers: string[] = [];
    await using server = await startServer(() =>
      streamResponse(async (send) => {
        writers.push((await currentTask()).name);
        for (let i = 0; i < 20; i++) {
          await send(`line ${i}\n`);
          if (i % 5 === 0) await sleep(0.001);
        }
        await send(new Uint8Array([33, 10]));
      }, { status: 201, headers: { "x-kind": "stream" } })
    );
    using client = Deno.createHttpClient({});
    const response = await fetch(`${server.url}/lines`, { client });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get("x-kind"), "stream");
    const expected = Array.from({ length: 20 }, (_, i) => `line ${i}\n`).join("") + "!\n";
    assert.equal(await response.text(), expected);
    assert.deepEqual(writers, ["GET /lines"]);
  });
});

Deno.test("streamResponse(): the producing task is cancelled when the client goes away, and its finally runs", async () => {
  await run(async () => {
    const cleaned = new Event();
    let task: Task | undefined;
    let error: unknown;
    await using server = await startServer(() =>
      streamResponse(async (send) => {
        task = await currentTask();
        try {
          for (let i = 0;; i++) {
            await send(`data: ${i}\n\n`);
            await sleep(0.005);
          }
        } catch (e) {
          error = e;
          throw e;
        } finally {
          await cleaned.set();
        }
      }, { headers: { "content-type": "text/event-stream" } })
    );
    using client = Deno.createHttpClient({});
    const response = await fetch(`${server.url}/events`, { client });
    const reader = response.body!.getReader();
    assert.equal(decoder.decode((await reader.read()).value), "data: 0\n\n");
    await reader.cancel();
    await timeoutAfter(10, () => cleaned.wait());
    assert(error instanceof CancelledError, `expected CancelledError, got ${error}`);
    await task!.wait();
    assert.equal(task!.cancelled, true);
  });
});

Deno.test("streamResponse(): a client that stops reading holds the producer in send() until it leaves, then cancels it", async () => {
  await run(async () => {
    const cleaned = new Event();
    let task: Task | undefined;
    let error: unknown;
    let sent = 0;
    await using server = await startServer(() =>
      streamResponse(async (send) => {
        task = await currentTask();
        const chunk = new Uint8Array(64 * 1024);
        try {
          for (;;) {
            await send(chunk);
            sent++;
          }
        } catch (e) {
          error = e;
        } finally {
          await cleaned.set();
        }
      })
    );
    using client = Deno.createHttpClient({});
    const response = await fetch(`${server.url}/firehose`, { client }); // body never read
    // Buffers along the way fill up first; then the producer stays in send().
    await timeoutAfter(10, async () => {
      for (let before = -1; !(task?.state === "HTTP_SEND" && sent === before);) {
        before = sent;
        await sleep(0.05);
      }
    });
    await response.body!.cancel();
    await timeoutAfter(10, () => cleaned.wait());
    assert(error instanceof CancelledError, `expected CancelledError, got ${error}`);
  });
});

Deno.test("streamResponse(): shutdown cancels the producer of a stream whose client stopped reading", async () => {
  await run(async () => {
    let task: Task | undefined;
    let sent = 0;
    const server = await startServer(() =>
      streamResponse(async (send) => {
        task = await currentTask();
        for (const chunk = new Uint8Array(64 * 1024);; sent++) await send(chunk);
      }), { shutdownGrace: 0.05 });
    using client = Deno.createHttpClient({});
    const response = await fetch(`${server.url}/firehose`, { client }); // not read yet
    await timeoutAfter(10, async () => {
      for (let before = -1; !(task?.state === "HTTP_SEND" && sent === before);) {
        before = sent;
        await sleep(0.05);
      }
    });
    const stopping = await spawn(() => server.task.cancel());
    await timeoutAfter(10, () => task!.wait());
    assert.equal(task!.cancelled, true, "the producer was cancelled after the grace period");
    // Deno still holds the bytes the client has not read: the server
    // finishes once the client reads them or leaves.
    assert.equal(server.task.terminated, false);
    await response.body!.cancel();
    await timeoutAfter(10, () => stopping.join());
    assert.equal(server.task.terminated, true);
  });
});

Deno.test("streamResponse(): a producer that fails cuts the body off and logs one line", async () => {
  await run(async () => {
    await using server = await startServer(() =>
      streamResponse(async (send) => {
        await send("partial\n");
        await sleep(0.001);
        throw new TypeError("producer broke");
      })
    );
    using client = Deno.createHttpClient({});
    const lines = await captureErrors(async () => {
      const response = await fetch(`${server.url}/broken`, { client });
      assert.equal(response.status, 200);
      await assert.rejects(response.text());
      await sleep(0.01);
    });
    assert.deepEqual(lines, [
      "httpServer: GET /broken: streamed body failed: TypeError: producer broke",
    ]);
  });
});

Deno.test("streamResponse(): at shutdown a stream still running after the grace period is cancelled and cut off", async () => {
  await run(async () => {
    let error: unknown;
    const server = await startServer(() =>
      streamResponse(async (send) => {
        try {
          for (;;) {
            await send("tick\n");
            await sleep(0.005);
          }
        } catch (e) {
          error = e;
          throw e;
        }
      }), { shutdownGrace: 0.05 });
    using client = Deno.createHttpClient({});
    const response = await fetch(`${server.url}/ticks`, { client });
    const text = response.text();
    text.catch(() => {}); // checked below
    await sleep(0.02);
    await server.task.cancel();
    assert(error instanceof CancelledError);
    await assert.rejects(text, "the body was cut off");
  });
});

Deno.test("streamResponse() rejects a producer that is not a function, and send() rejects other chunk types", async () => {
  assert.throws(
    () => streamResponse("text" as unknown as () => Promise<void>),
    (e: Error) => e instanceof TypeError && /produce as a function/.test(e.message),
  );
  await run(async () => {
    let error: unknown;
    await using server = await startServer(() =>
      streamResponse(async (send) => {
        try {
          await send(42 as unknown as string);
        } catch (e) {
          error = e;
        }
      })
    );
    using client = Deno.createHttpClient({});
    assert.equal(await (await fetch(`${server.url}/`, { client })).text(), "");
    assert(error instanceof TypeError && /string or Uint8Array/.test(error.message), `${error}`);
  });
});
