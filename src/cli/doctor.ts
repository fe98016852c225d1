/**
 * `wirken doctor`: checks the installation and says how to fix what is wrong.
 *
 * @module
 */
import type { CommandSpec } from "./spec.ts";

/** The `doctor` command. */
export const doctorCommand: CommandSpec = {
  name: "doctor",
  summary: "Check Deno, data dir permissions, SQLite, keychain, sandboxes and the provider.",
  examples: ["wirken doctor", "wirken doctor --json"],
  json: true,
  async run(ctx) {
    const [{ runChecks }, { print, printJson, table }] = await Promise.all([
      import("../doctor/checks.ts"),
      import("./output.ts"),
    ]);
    const results = await runChecks(ctx.dataDir, ctx.env);
    const failed = results.some((r) => r.status === "fail");
    if (ctx.json) {
      printJson({ ok: !failed, checks: results });
    } else {
      print(table(
        ["CHECK", "STATUS", "DETAIL", "FIX"],
        results.map((r) => [r.check, r.status.toUpperCase(), r.detail, r.fix]),
      ));
      print(failed ? "\nSome checks failed; apply the fixes above." : "\nNo failures.");
    }
    return failed ? 1 : 0;
  },
};
