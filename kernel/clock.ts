/**
 * Time, as the kernel sees it.
 *
 * A Discussion About Time: every sleep and timeout in curio is a deadline on
 * one clock that the kernel owns. By default that is the monotonic clock
 * (`performance.now()`, in seconds); it never jumps when the wall clock is
 * changed. Tests pass a {@linkcode MockClock} instead: virtual time that
 * moves only when told to (`jump()`), or by itself when every task is blocked
 * and only a deadline could wake one (`autojump`). An hour of sleeps and
 * timeouts then runs in milliseconds, in the same order every time.
 *
 * @module
 */

import { notifyJump } from "./_clock_events.ts";

/**
 * A source of time in seconds. The kernel schedules sleeps and timeouts on
 * it; {@linkcode clock} returns its reading inside a task.
 */
export interface Clock {
  /** The current time, in seconds, never going backwards. */
  now(): number;
}

/**
 * The default clock: monotonic seconds from `performance.now()`.
 *
 * @example Usage
 * ```ts
 * import { monotonicClock } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const a = monotonicClock.now();
 * assert(monotonicClock.now() >= a);
 * ```
 */
export const monotonicClock: Clock = {
  now(): number {
    return performance.now() / 1000;
  },
};

/** Options for {@linkcode MockClock}. */
export interface MockClockOptions {
  /**
   * Real seconds that every task must stay blocked before virtual time jumps
   * to the next deadline. `0` jumps at once; leave it out to move time only
   * with {@linkcode MockClock.prototype.jump}.
   */
  autojump?: number;
}

/**
 * A virtual clock for deterministic tests: it starts at 0 and moves only
 * through {@linkcode MockClock.prototype.jump}, or by itself when `autojump`
 * is set and every task of the kernel has been blocked that long.
 *
 * @example Usage
 * ```ts
 * import { clock, MockClock, run, sleep } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const mock = new MockClock({ autojump: 0 });
 * const started = performance.now();
 * await run(async () => {
 *   await sleep(3600); // an hour of virtual time
 *   assert.equal(await clock(), 3600);
 * }, { clock: mock });
 * assert(performance.now() - started < 5000);
 * ```
 */
export class MockClock implements Clock {
  #now = 0;
  /** Real seconds of idleness before time jumps by itself, or `null` for never. */
  readonly autojump: number | null;

  /**
   * Creates a virtual clock at time 0.
   *
   * @param options `autojump`: real seconds of idleness before virtual time
   * jumps to the next deadline.
   * @throws {RangeError} If `autojump` is negative or not a finite number.
   */
  constructor(options: MockClockOptions = {}) {
    const { autojump } = options;
    if (autojump !== undefined) {
      if (typeof autojump !== "number" || !Number.isFinite(autojump) || autojump < 0) {
        throw new RangeError(
          `Cannot create MockClock: autojump must be a finite number of seconds >= 0, received ${
            String(autojump)
          }`,
        );
      }
    }
    this.autojump = autojump ?? null;
  }

  /**
   * The current virtual time in seconds.
   *
   * @returns Seconds since the clock was created, counting only jumps.
   */
  now(): number {
    return this.#now;
  }

  /**
   * Moves virtual time forward and wakes every task whose deadline passed.
   *
   * @param seconds How far to move, `>= 0`.
   * @throws {RangeError} If `seconds` is negative or not a finite number.
   *
   * @example Usage
   * ```ts
   * import { MockClock } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * const c = new MockClock();
   * c.jump(2.5);
   * assert.equal(c.now(), 2.5);
   * ```
   */
  jump(seconds: number): void {
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
      throw new RangeError(
        `Cannot jump MockClock: expected a finite number of seconds >= 0, received ${
          String(seconds)
        }`,
      );
    }
    this.#now += seconds;
    notifyJump(this);
  }
}
