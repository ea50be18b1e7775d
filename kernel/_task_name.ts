// A task's default name, worked out from its function only when someone
// reads it (ps, crash reports): spawn's hot path never pays for it.
//
// `spawn(countdown)` is named `countdown` (fn.name). The recommended form,
// `spawn(() => countdown(10))`, has an anonymous arrow: its name is the
// first call in the arrow's body, `countdown`. Failing both, `task`.

/** Words that look like a call in source but name nothing: `if (`, `await (`... */
const NOT_NAMES = new Set([
  "async",
  "await",
  "catch",
  "for",
  "function",
  "if",
  "new",
  "return",
  "super",
  "switch",
  "typeof",
  "void",
  "while",
  "yield",
]);

/** The first `name(` or `a.b.name(` in `source`, skipping keywords; its last part. */
const CALL = /([A-Za-z_$][\w$]*)\s*(?:<[^<>()]*>)?\s*\(/g;

/** The default name of a task running `fn`. */
export function defaultTaskName(fn: () => unknown): string {
  if (fn.name) return fn.name;
  let source: string;
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    return "task";
  }
  const arrow = source.indexOf("=>");
  if (arrow === -1) return "task";
  const body = source.slice(arrow + 2);
  for (const match of body.matchAll(CALL)) {
    const name = match[1]!;
    if (!NOT_NAMES.has(name)) return name;
  }
  return "task";
}

/** Something that names a task when the name is first read (httpServer's request). */
export interface TaskNamer {
  taskName(): string;
}

/** Where a task's default name comes from: a function's name, or a namer asked when needed. */
export type NameSource = (() => unknown) | TaskNamer;

/** The default name of a task, worked out from `source` (see defaultTaskName). */
export function nameOfSource(source: NameSource): string {
  return typeof source === "function" ? defaultTaskName(source) : source.taskName();
}

/**
 * A spawn option, known to the kernel's own callers only: the function whose
 * name is the task's default name, when spawn() is given a wrapper (as
 * TaskGroup does) rather than the user's function.
 */
export const nameFrom: unique symbol = Symbol("curio.nameFrom");
