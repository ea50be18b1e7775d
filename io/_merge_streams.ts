// `stderr: STDOUT` for an argument list: Deno.Command cannot give a child one
// pipe for both fds, so both are piped and read here, concurrently, into one
// stream. Each chunk stays whole; chunks are passed on in the order they
// arrive, so writes the child makes to its two fds within the same instant
// may come out swapped (writes separated in time, e.g. lines with a pause,
// keep their order). `shell: true` avoids this: the shell does `2>&1`.

/**
 * One byte stream of whatever `a` and `b` deliver, in arrival order. Pulls
 * (never reads ahead more than one chunk per source); ends when both end;
 * cancelling it cancels both.
 */
export function mergeStreams(
  a: ReadableStream<Uint8Array>,
  b: ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array> {
  type Result = { index: number; result: ReadableStreamReadResult<Uint8Array> };
  const readers = [a.getReader(), b.getReader()];
  const done = [false, false];
  const pending: Array<Promise<Result> | undefined> = [undefined, undefined];
  return new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      while (true) {
        const live: Array<Promise<Result>> = [];
        for (let i = 0; i < readers.length; i++) {
          if (done[i]) continue;
          pending[i] ??= readers[i]!.read().then((result) => ({ index: i, result }));
          live.push(pending[i]!);
        }
        if (live.length === 0) {
          controller.close();
          return;
        }
        const { index, result } = await Promise.race(live);
        pending[index] = undefined;
        if (result.done) {
          done[index] = true;
          continue;
        }
        controller.enqueue(result.value);
        return;
      }
    },
    async cancel(reason): Promise<void> {
      await Promise.all(readers.map((r) => r.cancel(reason).catch(() => {})));
    },
  }, { highWaterMark: 0 });
}
