/**
 * Runs `deno check` on the compile-time isolation files in this folder. A `// @ts-expect-error`
 * line that starts compiling is error TS2578, which fails this test.
 */
import { assertEquals } from "../assert.ts";

Deno.test("deno check proves every @ts-expect-error line in tests/types/ fails to compile", async () => {
  const dir = new URL(".", import.meta.url).pathname;
  const files = [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts"))
    .map((e) => `${dir}${e.name}`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", ...files],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, text);
});
