import { assert, assertEquals } from "../../tests/assert.ts";
import { runProcess } from "./process.ts";
import { DEFAULT_LIMITS } from "./types.ts";

Deno.test("runProcess: exit code, capped output, clean environment", async () => {
  Deno.env.set("WIRKEN_PROCESS_TEST_SECRET", "do-not-leak");
  try {
    const r = await runProcess({
      argv: ["sh", "-c", "env; head -c 5000 /dev/zero | tr '\\0' z; exit 9"],
      env: { PATH: "/usr/bin:/bin" },
      limits: { ...DEFAULT_LIMITS, maxOutputBytes: 4096, timeoutMs: 5000 },
      kind: "host",
    });
    assertEquals(r.exitCode, 9);
    assertEquals(r.stdout.length, 4096);
    assertEquals(r.truncated, true);
    assert(!r.stdout.includes("do-not-leak"));
  } finally {
    Deno.env.delete("WIRKEN_PROCESS_TEST_SECRET");
  }
});

Deno.test("runProcess: timeout and abort kill the child", async () => {
  const t = await runProcess({
    argv: ["sleep", "100"],
    env: { PATH: "/usr/bin:/bin" },
    limits: { ...DEFAULT_LIMITS, timeoutMs: 200 },
    kind: "host",
  });
  assertEquals(t.timedOut, true);
  assertEquals(t.signal, "SIGKILL");
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const a = await runProcess({
    argv: ["sleep", "100"],
    env: { PATH: "/usr/bin:/bin" },
    limits: { ...DEFAULT_LIMITS, timeoutMs: 10_000 },
    kind: "host",
    signal: controller.signal,
  });
  assertEquals(a.timedOut, false);
  assertEquals(a.exitCode, null);
});
