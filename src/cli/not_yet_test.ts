import { assertEquals, assertRejects, assertStringIncludes } from "../../tests/assert.ts";
import { NotAvailableError } from "../errors.ts";
import { createLogger } from "../log/logger.ts";
import { notYet } from "./not_yet.ts";

Deno.test("notYet: a command whose body is not built fails plainly with exit code 1", async () => {
  const run = notYet("frobnicate", "issue 99, frobnication");
  const e = await assertRejects(
    () =>
      run({
        args: {},
        flags: {},
        json: false,
        verbose: false,
        dataDir: "/nonexistent",
        log: createLogger({ terminal: null }),
        env: new Map(),
        argv: [],
      }),
    NotAvailableError,
    "`wirken frobnicate` is not available yet",
  );
  assertEquals(e.exitCode, 1);
  assertStringIncludes(e.fix ?? "", "issue 99");
});
