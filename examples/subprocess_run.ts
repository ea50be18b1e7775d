/**
 * The subprocess module's functions: `run`, `checkOutput`, `communicate`,
 * a timeout that kills the child, and `CalledProcessError`.
 *
 * `deno run --allow-run examples/subprocess_run.ts`
 *
 * @module
 */
import { run } from "@curio/curio";
import {
  CalledProcessError,
  checkOutput,
  PIPE,
  Popen,
  run as runCommand,
  STDOUT,
  TimeoutExpired,
} from "@curio/curio/subprocess";

const decode = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());
const encode = (s: string): Uint8Array => new TextEncoder().encode(s);

async function main(): Promise<void> {
  // run(): a CompletedProcess with the captured output.
  const done = await runCommand(["echo", "hello"], { stdout: PIPE });
  console.log("run:", done.returncode, decode(done.stdout).trimEnd());

  // Input on stdin, and a shell command line.
  const sorted = await checkOutput("sort | uniq -c", {
    shell: true,
    input: encode("pear\napple\npear\n"),
  });
  console.log("checkOutput:\n" + decode(sorted).trimEnd());

  // stderr merged into stdout.
  const both = await checkOutput("echo out; echo err >&2", { shell: true, stderr: STDOUT });
  console.log("merged:", JSON.stringify(decode(both)));

  // communicate() with a Popen.
  const p = new Popen(["tr", "a-z", "A-Z"], { stdin: PIPE, stdout: PIPE });
  const [out] = await p.communicate(encode("shout\n"));
  console.log("communicate:", decode(out).trimEnd(), "exit", p.returncode);

  // check: a failing command raises CalledProcessError.
  try {
    await runCommand("echo broken >&2; exit 3", { shell: true, check: true, stderr: PIPE });
  } catch (e) {
    if (!(e instanceof CalledProcessError)) throw e;
    console.log("CalledProcessError:", e.returncode, decode(e.stderr).trimEnd());
  }

  // timeout: the child is killed, nothing is left running.
  try {
    await runCommand(["sleep", "30"], { timeout: 0.5 });
  } catch (e) {
    if (!(e instanceof TimeoutExpired)) throw e;
    console.log("TimeoutExpired:", e.message);
  }
}

await run(main);
