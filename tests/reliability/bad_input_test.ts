// The bad input table: every public function given wrong types, NaN,
// negative sizes, closed objects, or called outside a task, must fail with a
// clear error of the documented class (TypeError, RangeError, CurioError,
// ...), whose message says what was attempted ("Cannot ..."), and the kernel
// must keep running afterwards.

import assert from "node:assert/strict";
import {
  abide,
  BoundedSemaphore,
  clock,
  Condition,
  CurioError,
  currentTask,
  Event,
  FileStream,
  ignoreAfter,
  ignoreAt,
  Kernel,
  Lock,
  MockClock,
  openConnection,
  PriorityQueue,
  Queue,
  run,
  runInExecutor,
  runInProcess,
  runInThread,
  Semaphore,
  SharedQueue,
  SignalSet,
  sleep,
  Socket,
  spawn,
  type Task,
  TaskGroup,
  tcpServer,
  tcpServerSocket,
  timeoutAfter,
  timeoutAt,
  workerFunction,
} from "@curio/curio";
import {
  _futureWait,
  _getKernel,
  _readWait,
  _rescheduleTasks,
  _setTimeout,
  _unsetTimeout,
  _waitOnQueue,
  KernelQueue,
} from "@curio/curio/traps";
import {
  AF_INET,
  createConnection,
  fromfd,
  SOCK_STREAM,
  socket,
  socketpair,
} from "@curio/curio/socket";
import { createDefaultContext } from "@curio/curio/ssl";
import { Popen } from "@curio/curio/subprocess";

/** Passes a deliberately wrong value through the type checker. */
const bad = (x: unknown) => x as never;
const fn = async () => {};

type ErrorClass = abstract new (...args: never[]) => Error;

interface Row {
  /** What is called, as a user would write it. */
  call: string;
  /** Runs the call (may throw or return a promise that rejects). */
  run: () => unknown;
  /** The documented error class. */
  error: ErrorClass;
  /** What the message must match (default: starts with "Cannot "). */
  message?: RegExp;
}

/** Asserts that `row.run()` fails as documented. */
async function expectFailure(row: Row): Promise<void> {
  let outcome: unknown;
  let threw = false;
  try {
    const value = row.run();
    if (value instanceof Promise) await value;
  } catch (e) {
    threw = true;
    outcome = e;
  }
  assert(threw, `${row.call} did not fail`);
  assert(
    outcome instanceof row.error,
    `${row.call} failed with ${(outcome as Error)?.constructor?.name}: ${
      (outcome as Error)?.message
    }, expected ${row.error.name}`,
  );
  assert.match((outcome as Error).message, row.message ?? /^Cannot /, `${row.call}: message`);
}

/** Checks the kernel still runs tasks, sleeps and timeouts after a failure. */
async function kernelAlive(): Promise<void> {
  const t = await spawn(async () => {
    await sleep(0);
    return "alive";
  });
  assert.equal(await t.join(), "alive");
  assert.equal(await ignoreAfter(0.001, () => sleep(10), { timeoutResult: "t" }), "t");
}

let finishedTask: Task | undefined;
await run(async () => {
  finishedTask = await spawn(async () => {});
  await finishedTask.join();
});

// --- calls that need a task, made outside any task: CurioError --------------

const outside: Row[] = [
  { call: "sleep(1)", run: () => sleep(1), error: CurioError },
  { call: "spawn(fn)", run: () => spawn(fn), error: CurioError },
  { call: "timeoutAfter(1, fn)", run: () => timeoutAfter(1, fn), error: CurioError },
  { call: "ignoreAfter(1, fn)", run: () => ignoreAfter(1, fn), error: CurioError },
  { call: "currentTask()", run: () => currentTask(), error: CurioError },
  { call: "clock()", run: () => clock(), error: CurioError },
  { call: "task.join()", run: () => finishedTask!.join(), error: CurioError },
  { call: "task.wait()", run: () => finishedTask!.wait(), error: CurioError },
  { call: "task.cancel()", run: () => finishedTask!.cancel(), error: CurioError },
  { call: "new Lock().acquire()", run: () => new Lock().acquire(), error: CurioError },
  { call: "new Semaphore().acquire()", run: () => new Semaphore().acquire(), error: CurioError },
  { call: "new Queue().get()", run: () => new Queue().get(), error: CurioError },
  { call: "new Queue().join()", run: () => new Queue().join(), error: CurioError },
  { call: "new Event().wait()", run: () => new Event().wait(), error: CurioError },
  { call: "new Condition().acquire()", run: () => new Condition().acquire(), error: CurioError },
  {
    call: "_waitOnQueue(kq, 'W')",
    run: () => _waitOnQueue(new KernelQueue(), "W"),
    error: CurioError,
  },
  { call: "_futureWait(p)", run: () => _futureWait(Promise.resolve(1)), error: CurioError },
  { call: "_getKernel()", run: () => _getKernel(), error: CurioError },
  { call: "_setTimeout(1)", run: () => _setTimeout(1), error: CurioError },
  { call: "runInThread(fn)", run: () => runInThread(() => 1), error: CurioError },
  { call: "runInProcess(fn)", run: () => runInProcess(() => 1), error: CurioError },
  {
    call: "new SignalSet('SIGUSR1').wait()",
    run: () => new SignalSet("SIGUSR1").wait(),
    error: CurioError,
  },
];

Deno.test("bad input: blocking calls outside any task reject with CurioError", async (t) => {
  for (const row of outside) {
    await t.step(row.call, () => expectFailure(row));
  }
});

Deno.test("bad input: non-blocking wake-ups work outside any task", async () => {
  const evt = new Event();
  await evt.set();
  assert(evt.isSet());
  const q = new Queue<number>();
  await q.put(1);
  assert.equal(q.qsize(), 1);
  await _rescheduleTasks(new KernelQueue(), 1);
});

// --- wrong types, NaN, negative sizes, closed objects, inside a task --------

function inTaskRows(): Row[] {
  const kq = new KernelQueue();
  return [
    // kernel
    { call: "spawn(promise)", run: () => spawn(bad(Promise.resolve())), error: TypeError },
    { call: "spawn(null)", run: () => spawn(bad(null)), error: TypeError },
    { call: "spawn(42)", run: () => spawn(bad(42)), error: TypeError },
    { call: "sleep(NaN)", run: () => sleep(NaN), error: RangeError },
    { call: "sleep(-1)", run: () => sleep(-1), error: RangeError },
    { call: "sleep(Infinity)", run: () => sleep(Infinity), error: RangeError },
    { call: "sleep('1')", run: () => sleep(bad("1")), error: TypeError },
    { call: "timeoutAfter(NaN, fn)", run: () => timeoutAfter(NaN, fn), error: RangeError },
    { call: "timeoutAfter(-1, fn)", run: () => timeoutAfter(-1, fn), error: RangeError },
    { call: "timeoutAfter('1', fn)", run: () => timeoutAfter(bad("1"), fn), error: TypeError },
    {
      call: "timeoutAfter(1, promise)",
      run: () => timeoutAfter(1, bad(Promise.resolve())),
      error: TypeError,
    },
    { call: "timeoutAt(NaN, fn)", run: () => timeoutAt(NaN, fn), error: RangeError },
    { call: "timeoutAt('x', fn)", run: () => timeoutAt(bad("x"), fn), error: TypeError },
    { call: "ignoreAfter(NaN, fn)", run: () => ignoreAfter(NaN, fn), error: RangeError },
    { call: "ignoreAt(NaN, fn)", run: () => ignoreAt(NaN, fn), error: RangeError },
    { call: "run(promise)", run: () => run(bad(Promise.resolve())), error: TypeError },
    { call: "run(42)", run: () => run(bad(42)), error: TypeError },
    { call: "new Kernel().run(42)", run: () => new Kernel().run(bad(42)), error: TypeError },
    {
      call: "kernel.onShutdown(42)",
      run: () => new Kernel().onShutdown(bad(42)),
      error: TypeError,
    },
    {
      call: "new MockClock({ autojump: -1 })",
      run: () => new MockClock({ autojump: -1 }),
      error: RangeError,
    },
    { call: "mockClock.jump(NaN)", run: () => new MockClock().jump(NaN), error: RangeError },
    { call: "mockClock.jump(-1)", run: () => new MockClock().jump(-1), error: RangeError },
    // traps
    { call: "_waitOnQueue({}, 'W')", run: () => _waitOnQueue(bad({}), "W"), error: TypeError },
    { call: "_rescheduleTasks({}, 1)", run: () => _rescheduleTasks(bad({}), 1), error: TypeError },
    { call: "_rescheduleTasks(kq, -1)", run: () => _rescheduleTasks(kq, -1), error: RangeError },
    { call: "_rescheduleTasks(kq, NaN)", run: () => _rescheduleTasks(kq, NaN), error: RangeError },
    { call: "_futureWait(42)", run: () => _futureWait(bad(42)), error: TypeError },
    { call: "_readWait(Deno.stdin)", run: () => _readWait(bad(Deno.stdin)), error: TypeError },
    { call: "_setTimeout('x')", run: () => _setTimeout(bad("x")), error: TypeError },
    { call: "_unsetTimeout({})", run: () => _unsetTimeout(bad({})), error: TypeError },
    // sync
    { call: "new Semaphore(-1)", run: () => new Semaphore(-1), error: RangeError },
    { call: "new Semaphore(NaN)", run: () => new Semaphore(NaN), error: RangeError },
    { call: "new Semaphore(1.5)", run: () => new Semaphore(1.5), error: RangeError },
    { call: "new Semaphore('2')", run: () => new Semaphore(bad("2")), error: TypeError },
    { call: "new BoundedSemaphore(-1)", run: () => new BoundedSemaphore(-1), error: RangeError },
    {
      call: "boundedSemaphore.release() past its bound",
      run: () => new BoundedSemaphore(1).release(),
      error: Error,
    },
    { call: "lock.release() when not held", run: () => new Lock().release(), error: Error },
    { call: "new Queue(-1)", run: () => new Queue(-1), error: RangeError },
    { call: "new Queue(NaN)", run: () => new Queue(NaN), error: RangeError },
    { call: "new Queue(2.5)", run: () => new Queue(2.5), error: RangeError },
    { call: "new Queue('3')", run: () => new Queue(bad("3")), error: TypeError },
    { call: "new PriorityQueue(-1)", run: () => new PriorityQueue(-1), error: RangeError },
    { call: "queue.taskDone() too often", run: () => new Queue().taskDone(), error: Error },
    { call: "new Condition({})", run: () => new Condition(bad({})), error: TypeError },
    { call: "condition.wait() unlocked", run: () => new Condition().wait(), error: Error },
    { call: "condition.notify() unlocked", run: () => new Condition().notify(), error: Error },
    {
      call: "condition.notify(-1)",
      run: async () => {
        const c = new Condition();
        await c.acquire();
        try {
          await c.notify(-1);
        } finally {
          await c.release();
        }
      },
      error: RangeError,
    },
    {
      call: "condition.waitFor(42)",
      run: async () => {
        const c = new Condition();
        await c.acquire();
        try {
          await c.waitFor(bad(42));
        } finally {
          await c.release();
        }
      },
      error: TypeError,
    },
    {
      call: "new TaskGroup({ wait: 'x' })",
      run: () => new TaskGroup({ wait: bad("x") }),
      error: RangeError,
    },
    { call: "taskGroup.spawn(42)", run: () => new TaskGroup().spawn(bad(42)), error: TypeError },
    {
      call: "taskGroup.spawn() after join()",
      run: async () => {
        const g = new TaskGroup();
        await g.join();
        await g.spawn(fn);
      },
      error: Error,
    },
    { call: "TaskGroup.scope(42)", run: () => TaskGroup.scope(bad(42)), error: TypeError },
    // io
    { call: "new Socket(42)", run: () => new Socket(bad(42)), error: TypeError },
    { call: "new FileStream(42)", run: () => new FileStream(bad(42)), error: TypeError },
    { call: "socket(999)", run: () => socket(999), error: RangeError },
    { call: "socket(AF_INET, 999)", run: () => socket(AF_INET, 999), error: RangeError },
    {
      call: "fromfd(3, AF_INET, SOCK_STREAM)",
      run: () => fromfd(3, AF_INET, SOCK_STREAM),
      error: Error,
    },
    {
      call: "openConnection(host, -1)",
      run: () => openConnection("127.0.0.1", -1),
      error: RangeError,
    },
    {
      call: "openConnection(host, NaN)",
      run: () => openConnection("127.0.0.1", NaN),
      error: RangeError,
    },
    { call: "openConnection(42, 80)", run: () => openConnection(bad(42), 80), error: TypeError },
    {
      call: "createConnection(['127.0.0.1', 'x'])",
      run: () => createConnection(bad(["127.0.0.1", "x"])),
      error: TypeError,
    },
    {
      call: "tcpServerSocket(host, 70000)",
      run: () => tcpServerSocket("127.0.0.1", 70000),
      error: RangeError,
    },
    {
      call: "createDefaultContext('bogus')",
      run: () => createDefaultContext(bad("bogus")),
      error: RangeError,
    },
    {
      call: "sslContext.loadCertChain(missing file)",
      run: () => createDefaultContext().loadCertChain("/nonexistent/cert.pem"),
      error: Deno.errors.NotFound,
      message: /nonexistent/,
    },
    // subprocess
    { call: "new Popen(42)", run: () => new Popen(bad(42)), error: TypeError },
    { call: "new Popen([])", run: () => new Popen([]), error: TypeError },
    // signals
    {
      call: "new SignalSet('SIGBOGUS')",
      run: () => new SignalSet(bad("SIGBOGUS")),
      error: RangeError,
    },
    { call: "new SignalSet('SIGKILL')", run: () => new SignalSet("SIGKILL"), error: RangeError },
    // workers
    { call: "runInThread(42)", run: () => runInThread(bad(42)), error: TypeError },
    { call: "runInProcess(42)", run: () => runInProcess(bad(42)), error: TypeError },
    { call: "runInExecutor(42, fn)", run: () => runInExecutor(bad(42), () => 1), error: TypeError },
    { call: "workerFunction(42, 'x')", run: () => workerFunction(bad(42), "x"), error: TypeError },
    { call: "abide(42)", run: () => abide(bad(42)), error: TypeError },
    { call: "new SharedQueue(-1)", run: () => new SharedQueue(-1), error: RangeError },
  ];
}

Deno.test("bad input: wrong types, NaN and bad sizes fail clearly; the kernel keeps running", async (t) => {
  // One kernel for the whole table: every row runs in it, and after each the
  // kernel must still run tasks, sleeps and timeouts.
  const rows = inTaskRows();
  const results = new Map<string, unknown>();
  await run(async () => {
    for (const row of rows) {
      try {
        await expectFailure(row);
        results.set(row.call, null);
      } catch (e) {
        results.set(row.call, e);
      }
      await kernelAlive();
    }
  }, { logErrors: false });
  for (const row of rows) {
    await t.step(row.call, () => {
      const e = results.get(row.call);
      if (e !== null) throw e;
    });
  }
});

/** Socket rows: each gets a fresh connected pair [a, b]. */
const socketRows: Array<
  { call: string; error: ErrorClass; run: (a: Socket, b: Socket) => unknown }
> = [
  { call: "sock.recv(-1)", run: (a) => a.recv(-1), error: RangeError },
  { call: "sock.recv(NaN)", run: (a) => a.recv(NaN), error: RangeError },
  { call: "sock.recv('x')", run: (a) => a.recv(bad("x")), error: TypeError },
  { call: "sock.recvInto('x')", run: (a) => a.recvInto(bad("x")), error: TypeError },
  {
    call: "sock.recvInto(buf, -1)",
    run: (a) => a.recvInto(new Uint8Array(4), -1),
    error: RangeError,
  },
  { call: "sock.send(42)", run: (a) => a.send(bad(42)), error: TypeError },
  { call: "sock.sendall('x')", run: (a) => a.sendall(bad("x")), error: TypeError },
  { call: "sock.recvmsg(10, 5) (ancillary data)", run: (a) => a.recvmsg(10, 5), error: Error },
  {
    call: "sock.sendmsg(bufs, [anc]) (ancillary data)",
    run: (a) => a.sendmsg([new Uint8Array(1)], [1]),
    error: Error,
  },
  { call: "sock.shutdown(9)", run: (a) => a.shutdown(9), error: RangeError },
  { call: "sock.makefile('x')", run: (a) => a.makefile(bad("x")), error: RangeError },
  {
    call: "closed sock.recv(1)",
    run: async (a) => {
      await a.close();
      await a.recv(1);
    },
    error: Deno.errors.BadResource,
  },
  {
    call: "closed sock.sendall(data)",
    run: async (a) => {
      await a.close();
      await a.sendall(new Uint8Array(1));
    },
    error: Deno.errors.BadResource,
  },
  {
    call: "closed stream.readline()",
    run: async (a) => {
      const s = a.asStream();
      await s.close();
      await s.readline();
    },
    error: CurioError,
  },
  { call: "stream.write('x')", run: (a) => a.asStream().write(bad("x")), error: TypeError },
  // A read size that is not a count must be refused, not waited on, and
  // never answered with an empty array (which means end of file).
  { call: "stream.read(NaN)", run: (a) => a.asStream().read(NaN), error: RangeError },
  { call: "stream.read('x')", run: (a) => a.asStream().read(bad("x")), error: TypeError },
];

Deno.test("bad input: socket and stream calls with bad arguments or closed objects", async (t) => {
  for (const row of socketRows) {
    await t.step(row.call, async () => {
      await run(async () => {
        const [a, b] = socketpair();
        try {
          // A bounded wait: a call that blocks instead of failing is a failure.
          const outcome = await ignoreAfter(
            0.5,
            () => expectFailure({ ...row, run: () => row.run(a, b) }),
            {
              timeoutResult: "blocked",
            },
          );
          assert.notEqual(outcome, "blocked", `${row.call} blocked instead of failing`);
          await kernelAlive();
        } finally {
          await a.close();
          await b.close();
        }
      }, { logErrors: false });
    });
  }
});

Deno.test("bad input: FileStream.read(NaN) with data buffered is refused, not taken for EOF", async () => {
  await run(async () => {
    await using s = new FileStream(new Blob(["hello"]).stream());
    await assert.rejects(s.read(NaN), RangeError);
    assert.equal(new TextDecoder().decode(await s.readall()), "hello");
  });
});

// io/network.ts tcpServer() creates its listening socket (tcpServerSocket)
// before runServer() checks clientConnectedTask; the TypeError is thrown
// before runServer's try/finally, so the listener stays open (the sanitizer
// reports a leaked TCP listener). Suggested fix: check clientConnectedTask in
// tcpServer() (and unixServer()) before creating the socket.
Deno.test("bad input: tcpServer(host, 0, 42) rejects with TypeError and leaves no listener open", async () => {
  await run(async () => {
    await assert.rejects(tcpServer("127.0.0.1", 0, bad(42)), TypeError);
    await kernelAlive();
  });
});
