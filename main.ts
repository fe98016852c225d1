/**
 * The `wirken` executable. Kept tiny: heavy modules (chat libraries, the MCP SDK, providers)
 * are imported by the command that needs them, so `wirken --help` starts fast.
 *
 * @module
 */
import { runCli } from "./src/cli/main.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
