// Workload sizes shared by the Deno.bench files and compare.ts.

/** How much work one round of each workload does. */
export const SIZES = {
  /** spawn+join: tasks spawned, then joined. */
  spawn: 20_000,
  /** Queue: items through a one-slot queue. */
  queue: 50_000,
  /** Lock: tasks contending for one lock. */
  lockTasks: 100,
  /** Lock: acquire/release rounds per task. */
  lockRounds: 500,
  /** Timeouts: concurrent timeout blocks around a quick operation. */
  timeouts: 20_000,
  /** Sleepers: concurrent 1 ms sleeps. */
  sleepers: 20_000,
  /** Switches: sleep(0) per task, two tasks. */
  switches: 50_000,
  /** Memory: sleeping tasks measured. */
  memory: 100_000,
  /** Echo on one connection: round trips. */
  echo1: 5_000,
  /** Echo on fifty connections: round trips per connection. */
  echo50: 200,
  /** HTTP: keep-alive client connections. */
  httpConns: 50,
  /** HTTP: requests per connection, one after another. */
  httpRequests: 1_000,
  /** runInThread: sequential calls. */
  thread: 2_000,
};
