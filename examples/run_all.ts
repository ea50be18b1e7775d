/**
 * Runs every example in this folder, one after another, and fails if any
 * fails or takes longer than a minute. `deno task examples`.
 *
 * @module
 */

const here = new URL(".", import.meta.url);
const self = new URL(import.meta.url).pathname.split("/").pop();
const files = [...Deno.readDirSync(here)]
  .filter((e) => e.isFile && e.name.endsWith(".ts") && e.name !== self && !e.name.startsWith("_"))
  .map((e) => e.name)
  .sort();

let failed = 0;
for (const name of files) {
  const started = performance.now();
  console.log(`\n=== ${name}`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--unstable-net", new URL(name, here).pathname],
    stdout: "inherit",
    stderr: "inherit",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const status = await child.status;
  const ms = Math.round(performance.now() - started);
  if (status.success) {
    console.log(`--- ${name}: ok (${ms} ms)`);
  } else {
    failed++;
    console.log(
      `--- ${name}: FAILED (exit ${status.code}${status.signal ? ", " + status.signal : ""})`,
    );
  }
}
console.log(`\nexamples: ${files.length - failed} passed, ${failed} failed`);
if (failed > 0) Deno.exit(1);
