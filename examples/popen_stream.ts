/**
 * The manual's Popen example: read a child's output line by line, as it is
 * printed, inside a task (the manual runs `ping`; this child prints a few
 * lines with short pauses, so it needs no network and ends by itself).
 *
 * `deno run --allow-run examples/popen_stream.ts`
 *
 * @module
 */
import { Kernel, subprocess } from "@curio/curio";

const decoder = new TextDecoder();

async function main(): Promise<void> {
  await using p = new subprocess.Popen(
    ["sh", "-c", 'for i in 1 2 3 4 5; do echo "reply $i"; sleep 0.2; done'],
    { stdout: subprocess.PIPE },
  );
  for await (const line of p.stdout!) {
    console.log("Got:", decoder.decode(line).trimEnd());
  }
  console.log("exit status", await p.wait());
}

await using kernel = new Kernel();
await kernel.run(main);
