import { assert, assertEquals } from "../../tests/assert.ts";
import { UsageError } from "../errors.ts";
import { describeTiming, nextRun, parseAt, parseCron, parseInterval } from "./timing.ts";

function throwsUsage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert(e instanceof UsageError, `not a UsageError: ${e}`);
    return e.message;
  }
  throw new Error("did not throw");
}

Deno.test("cron fires at the right minutes across the spring DST change (Europe/Berlin)", () => {
  const t = parseCron("0 8 * * 1-5", "Europe/Berlin");
  // Fri 2026-03-27 is CET (UTC+1); Mon 2026-03-30 is CEST (UTC+2): 08:00 local both days.
  let at = Date.parse("2026-03-27T00:00:00Z");
  const runs: string[] = [];
  for (let i = 0; i < 3; i++) {
    at = nextRun(t, at)!;
    runs.push(new Date(at).toISOString());
  }
  assertEquals(runs, [
    "2026-03-27T07:00:00.000Z",
    "2026-03-30T06:00:00.000Z",
    "2026-03-31T06:00:00.000Z",
  ]);
});

Deno.test("cron in the autumn DST change: 02:30 in the repeated hour runs once", () => {
  const t = parseCron("30 2 * * *", "Europe/Berlin");
  // 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 occurs twice; the task must not run twice.
  const from = Date.parse("2026-10-24T12:00:00Z");
  const a = nextRun(t, from)!;
  const b = nextRun(t, a)!;
  assert(b - a >= 23 * 3_600_000, `runs too close: ${new Date(a)} ${new Date(b)}`);
});

Deno.test("a bad cron expression is refused with the reason", () => {
  assert(throwsUsage(() => parseCron("61 * * * *", "UTC")).includes("minute"));
  assert(throwsUsage(() => parseCron("* * *", "UTC")).includes("five fields"));
  assert(throwsUsage(() => parseCron("* * * * * *", "UTC")).includes("five fields"));
  assert(throwsUsage(() => parseCron("0 8 * * 1-5", "Mars/Olympus")).includes("time zone"));
});

Deno.test("intervals: units, combined, under a minute refused", () => {
  assertEquals(parseInterval("30m"), 30 * 60_000);
  assertEquals(parseInterval("1h30m"), 90 * 60_000);
  assertEquals(parseInterval("1d"), 86_400_000);
  assert(throwsUsage(() => parseInterval("30s")).includes("shorter than a minute"));
  assert(throwsUsage(() => parseInterval("soon")).includes("not an interval"));
  const every = { kind: "every" as const, ms: 60_000 };
  // Anchored at creation: runs stay on the anchor's grid whatever "after" is.
  assertEquals(nextRun(every, 150_000, 0), 180_000);
  assertEquals(nextRun(every, 0, 10_000), 10_000);
  assertEquals(describeTiming({ kind: "every", ms: 5_400_000 }), "every 1h30m");
});

Deno.test("--at: with an offset, in the task's zone, and bad input", () => {
  assertEquals(parseAt("2026-12-24T17:00Z", "UTC"), {
    kind: "at",
    at: Date.parse("2026-12-24T17:00:00Z"),
  });
  assertEquals(parseAt("2026-12-24T18:00", "Europe/Berlin"), {
    kind: "at",
    at: Date.parse("2026-12-24T17:00:00Z"),
  });
  assertEquals(parseAt("2026-07-01T08:00", "Europe/Berlin"), {
    kind: "at",
    at: Date.parse("2026-07-01T06:00:00Z"),
  });
  assert(throwsUsage(() => parseAt("tomorrow", "UTC")).includes("not an ISO time"));
  const at = { kind: "at" as const, at: 1000 };
  assertEquals(nextRun(at, 999), 1000);
  assertEquals(nextRun(at, 1000), null);
});
