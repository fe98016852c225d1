/**
 * schema/wirken.ts must be exactly what capnp-es generates from schema/wirken.capnp. Needs the
 * `capnp` compiler (Debian: capnproto) and npm; without them the test is skipped LOUDLY.
 */
import { assertEquals } from "../assert.ts";

const script = new URL("../../schema/gen.sh", import.meta.url).pathname;

function hasCapnp(): boolean {
  try {
    return new Deno.Command("capnp", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const capnp = hasCapnp();
if (!capnp) {
  // deno-lint-ignore no-console
  console.warn(
    "\n*** SKIPPED: schema regeneration check: `capnp` not found (apt-get install capnproto) ***\n",
  );
}

Deno.test({
  name: "schema/wirken.ts matches a fresh capnp-es generation",
  ignore: !capnp,
  async fn() {
    const out = await new Deno.Command("bash", { args: [script, "--check"] }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (out.code === 3) {
      // deno-lint-ignore no-console
      console.warn(`\n*** SKIPPED: schema regeneration check: ${text.trim()} ***\n`);
      return;
    }
    assertEquals(out.code, 0, text);
  },
});
