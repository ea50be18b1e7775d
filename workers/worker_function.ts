/**
 * Naming a module's exported function for {@linkcode runInThread} and
 * {@linkcode runInProcess}.
 *
 * @module
 */

/**
 * An exported function of a module, to run in a worker thread or process:
 * the worker imports the module (with all its imports) and calls the export.
 * Made by {@linkcode workerFunction}.
 *
 * @typeParam T What the function returns (or its promise resolves to).
 */
export class WorkerFunction<T = unknown> {
  /** The module's absolute URL (`file:`, `https:`, `data:`, ...). */
  readonly module: string;
  /** The name of the export to call. */
  readonly exportName: string;
  /** Only here so that `T` takes part in type checks. */
  declare readonly _result?: T;

  /**
   * Names `exportName` of `module`. Prefer {@linkcode workerFunction}.
   *
   * @param module The module's URL, or an absolute file path.
   * @param exportName The export to call.
   * @throws {TypeError} If `module` is not a URL or absolute path, or `exportName` is not a non-empty string.
   */
  constructor(module: string | URL, exportName: string) {
    this.module = moduleUrl(module);
    if (typeof exportName !== "string" || exportName === "") {
      throw new TypeError(
        'Cannot make worker function: exportName must be the name of an exported function, such as "crunch"',
      );
    }
    this.exportName = exportName;
    Object.freeze(this);
  }
}

function moduleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (typeof module === "string") {
    if (module.startsWith("/")) return new URL("file://" + encodeURI(module)).href;
    try {
      return new URL(module).href;
    } catch {
      // fall through
    }
  }
  throw new TypeError(
    `Cannot make worker function: expected the module as a URL or an absolute path, such as new URL("./work.ts", import.meta.url), received ${
      typeof module === "string" ? JSON.stringify(module) : typeof module
    }`,
  );
}

/**
 * Names an exported function of a module for {@linkcode runInThread} or
 * {@linkcode runInProcess}. Unlike a plain function (sent as source, so it
 * must be self-contained), the worker imports the module, so the function
 * can use the module's imports and top-level values. Workers load a module
 * once and keep it.
 *
 * @typeParam T What the function returns (or its promise resolves to).
 * @param module The module's URL (`new URL("./work.ts", import.meta.url)`) or an absolute path.
 * @param exportName The name of the exported function.
 * @returns A {@linkcode WorkerFunction}.
 * @throws {TypeError} If `module` is not a URL or absolute path, or `exportName` is empty.
 *
 * @example Usage
 * ```ts
 * import { run, runInThread, workerFunction } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const src = "export function twice(x) { return 2 * x; }";
 * const mod = "data:text/javascript," + encodeURIComponent(src);
 * const twice = workerFunction<number>(mod, "twice");
 * assert.equal(await run(() => runInThread(twice, 21)), 42);
 * ```
 */
export function workerFunction<T = unknown>(
  module: string | URL,
  exportName: string,
): WorkerFunction<T> {
  return new WorkerFunction<T>(module, exportName);
}
