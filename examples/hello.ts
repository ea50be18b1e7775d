/**
 * The manual's first example: a coroutine run by the kernel.
 *
 * `deno run examples/hello.ts`
 *
 * @module
 */
import { run } from "@curio/curio";

async function hello(name: string): Promise<string> {
  return "Hello " + name;
}

async function main(): Promise<void> {
  const s = await hello("Guido");
  console.log(s);
}

await run(main);
