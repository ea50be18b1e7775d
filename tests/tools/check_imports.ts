/**
 * `deno run --allow-read --allow-run tests/tools/check_imports.ts`: the import
 * graph of the library's own source files, checked for two things.
 *
 * 1. No import cycle. Each cycle is printed as `a.ts -> b.ts -> a.ts`.
 * 2. The arrows point the way README's "How it works" map and STYLE.md say:
 *    `kernel/` imports nothing of `sync/`, `io/`, `workers/`, `monitor/` or
 *    `http/`; `sync/` imports neither `io/` nor `workers/`; and the kernel's
 *    private files (`kernel/_name.ts`) are imported only from `kernel/`. Each
 *    wrong-way import is printed as
 *    `wrong-way import: kernel/x.ts -> io/y.ts (kernel/ may not import io/)`.
 *
 * The exit code is 1 when either check finds something, 0 otherwise; the
 * script runs offline (it reads the graph from `deno info --json`, which needs
 * no network for local files).
 *
 * Source files are the `.ts` files at the top level (`mod.ts`) and in the
 * top-level folders other than `tests/`, `examples/`, `docs/` and the
 * dot-folders; tests and examples may import whatever they need.
 * `deno info` takes one root, so the script asks for the graph of one file not
 * yet seen, adds what it learns, and repeats until every source file is in.
 *
 * Type-only imports count. `deno info --json` reports them (a dependency with
 * a `type` entry and no `code` entry; `import { type X }` is reported as code,
 * write `import type`). TypeScript erases them, so they cannot cause an
 * evaluation-order problem, but they are still a file that must be read to
 * understand another: a kernel file naming an io/ type, or a helper reaching
 * back up for the type of the class that uses it, is the same tangle for a
 * reader, and the cure (move the shared type down into a file both import) is
 * cheap. The one exception is two public classes that name each other in
 * their signatures, which no file split can undo; such a type-only import is
 * listed in {@linkcode ALLOWED_TYPE_IMPORTS} with the reason, and is left out
 * of the cycle search only while it stays type-only. Cycles are printed with a
 * `(type-only)` note when every step in them is type-only, so the reader knows
 * nothing breaks at runtime. Dynamic `import()` of a constant specifier counts
 * as a runtime import; `new URL("./x.ts", import.meta.url)` for a worker is not
 * an import and `deno info` does not see it.
 *
 * @module
 */

/** One edge of the graph: `from` imports `to`. */
export interface ImportEdge {
  /** The importing file, relative to the repository root (`io/socket.ts`). */
  from: string;
  /** The imported file, relative to the repository root. */
  to: string;
  /** True when every import of `to` in `from` is `import type`. */
  typeOnly: boolean;
}

/** A rule "files under `from` may not import files under `to`". */
export interface ArrowRule {
  /** A folder prefix with its slash, such as `kernel/`. */
  from: string;
  /** The folders it may not import, each with its slash. */
  forbidden: string[];
}

/** The arrows of STYLE.md "Which way the arrows point". */
export const ARROW_RULES: ArrowRule[] = [
  { from: "kernel/", forbidden: ["sync/", "io/", "workers/", "monitor/", "http/"] },
  { from: "sync/", forbidden: ["io/", "workers/"] },
];

/** Folders whose private files (`_name.ts`) only the folder itself may import. */
export const PRIVATE_FOLDERS: string[] = ["kernel/"];

/**
 * Type-only imports that may close a cycle, each with the reason. An edge
 * listed here that becomes a runtime import counts again.
 */
export const ALLOWED_TYPE_IMPORTS: { from: string; to: string; why: string }[] = [
  {
    from: "io/socket_stream.ts",
    to: "io/socket_wrapper.ts",
    why: "SocketStream takes (and .socket returns) the Socket whose asStream() makes it: " +
      "the two public classes name each other",
  },
];

/** The edges the cycle search runs on: all but the allowed type-only ones. */
export function cycleEdges(
  edges: ImportEdge[],
  allowed: { from: string; to: string }[] = ALLOWED_TYPE_IMPORTS,
): ImportEdge[] {
  return edges.filter((e) =>
    !(e.typeOnly && allowed.some((a) => a.from === e.from && a.to === e.to))
  );
}

/** Top-level folders that are not library source. */
const NOT_SOURCE = new Set(["tests", "examples", "docs", "tmp", "coverage", "node_modules"]);

/**
 * Every elementary cycle of the graph (at most `limit` of them), each as a
 * list of files that starts and ends at its alphabetically smallest file;
 * the cycles sorted.
 */
export function findCycles(edges: ImportEdge[], limit = 100): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    const list = next.get(e.from) ?? [];
    if (!list.includes(e.to)) list.push(e.to);
    next.set(e.from, list);
  }
  const nodes = [...new Set(edges.flatMap((e) => [e.from, e.to]))].sort();
  const order = new Map(nodes.map((n, i) => [n, i]));
  const cycles: string[][] = [];
  // A cycle is found once, from its smallest node, visiting only larger nodes.
  for (const start of nodes) {
    const startIndex = order.get(start)!;
    const path = [start];
    const onPath = new Set(path);
    const walk = (node: string): void => {
      for (const to of next.get(node) ?? []) {
        if (cycles.length >= limit) return;
        if (to === start) {
          cycles.push([...path, start]);
        } else if (order.get(to)! > startIndex && !onPath.has(to)) {
          path.push(to);
          onPath.add(to);
          walk(to);
          onPath.delete(to);
          path.pop();
        }
      }
    };
    walk(start);
  }
  return cycles.sort((a, b) => a.join(" ").localeCompare(b.join(" ")));
}

/** Every edge that breaks one of `rules`, with the rule's message. */
export function findWrongArrows(
  edges: ImportEdge[],
  rules: ArrowRule[] = ARROW_RULES,
  privateFolders: string[] = PRIVATE_FOLDERS,
): { edge: ImportEdge; message: string }[] {
  const found: { edge: ImportEdge; message: string }[] = [];
  for (const edge of edges) {
    for (const folder of privateFolders) {
      const rest = edge.to.startsWith(folder) ? edge.to.slice(folder.length) : undefined;
      if (rest?.startsWith("_") && !rest.includes("/") && !edge.from.startsWith(folder)) {
        found.push({ edge, message: `only ${folder} may import its private files` });
      }
    }
    for (const rule of rules) {
      if (!edge.from.startsWith(rule.from)) continue;
      const bad = rule.forbidden.find((f) => edge.to.startsWith(f));
      if (bad) found.push({ edge, message: `${rule.from} may not import ${bad}` });
    }
  }
  return found;
}

/** True when every step of `cycle` is a type-only edge. */
export function isTypeOnly(cycle: string[], edges: ImportEdge[]): boolean {
  for (let i = 0; i + 1 < cycle.length; i++) {
    const edge = edges.find((e) => e.from === cycle[i] && e.to === cycle[i + 1]);
    if (!edge || !edge.typeOnly) return false;
  }
  return true;
}

interface InfoDependency {
  specifier: string;
  code?: { specifier: string };
  type?: { specifier: string };
}

interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
}

/** The library's source files, relative to `root`, sorted. */
async function sourceFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory) {
        if (entry.name.startsWith(".")) continue;
        if (!rel && NOT_SOURCE.has(entry.name)) continue;
        await walk(path, relPath);
      } else if (entry.isFile && entry.name.endsWith(".ts")) {
        files.push(relPath);
      }
    }
  };
  await walk(root, "");
  return files.sort();
}

/** The import edges among `files`, read with `deno info --json`. */
async function importEdges(root: string, files: string[]): Promise<ImportEdge[]> {
  const base = new URL(`file://${root}/`).href;
  const wanted = new Set(files);
  const seen = new Set<string>();
  const edges = new Map<string, ImportEdge>();
  const relative = (specifier: string): string | undefined => {
    if (!specifier.startsWith(base)) return undefined;
    const rel = decodeURIComponent(specifier.slice(base.length));
    return wanted.has(rel) ? rel : undefined;
  };
  for (const file of files) {
    if (seen.has(file)) continue;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", file],
      cwd: root,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `Cannot read the import graph: deno info ${file} failed: ${
          new TextDecoder().decode(out.stderr).trim()
        }`,
      );
    }
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
    for (const module of info.modules) {
      const from = relative(module.specifier);
      if (from === undefined || seen.has(from)) continue;
      seen.add(from);
      for (const dep of module.dependencies ?? []) {
        const codeTo = dep.code ? relative(dep.code.specifier) : undefined;
        const typeTo = dep.type ? relative(dep.type.specifier) : undefined;
        const to = codeTo ?? typeTo;
        if (to === undefined) continue;
        const key = `${from}\n${to}`;
        const typeOnly = codeTo === undefined;
        const old = edges.get(key);
        edges.set(key, { from, to, typeOnly: old ? old.typeOnly && typeOnly : typeOnly });
      }
    }
  }
  return [...edges.values()];
}

async function main(): Promise<number> {
  const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const files = await sourceFiles(root);
  const edges = await importEdges(root, files);
  const cycles = findCycles(cycleEdges(edges));
  const wrong = findWrongArrows(edges);
  for (const cycle of cycles) {
    console.log(
      `import cycle: ${cycle.join(" -> ")}${isTypeOnly(cycle, edges) ? " (type-only)" : ""}`,
    );
  }
  for (const { edge, message } of wrong) {
    console.log(
      `wrong-way import: ${edge.from} -> ${edge.to}${
        edge.typeOnly ? " (type-only)" : ""
      } (${message})`,
    );
  }
  if (cycles.length || wrong.length) {
    console.log(
      `check_imports: ${cycles.length} cycle(s), ${wrong.length} wrong-way import(s) among ${files.length} source files`,
    );
    return 1;
  }
  console.log(
    `check_imports: no cycle, no wrong-way import among ${files.length} source files (${edges.length} imports)`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main());
