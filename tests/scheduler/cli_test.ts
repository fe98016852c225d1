/**
 * `wirken schedule` as a user runs it: add (cron/every/at), a bad cron refused with croner's
 * reason, list --json, pause/resume/run-now/remove, and the store surviving between runs.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { tempDataDir, wirken } from "../cli/helpers.ts";

type View = { id: string; to: string; owner: string; paused: boolean; nextRun: string | null };

Deno.test("wirken schedule add/list/pause/resume/run-now/remove, bad cron refused", async () => {
  const dataDir = await tempDataDir();
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    `${dataDir}/config.json`,
    JSON.stringify({ version: 1, channels: { telegram: { allowFrom: ["42"] } } }),
  );
  const run = (args: string[]) => wirken(["schedule", ...args], { dataDir });

  const bad = await run(["add", "--cron", "61 * * * *", "--to", "webchat:x", "--prompt", "hi"]);
  assertEquals(bad.code, 2, bad.stderr);
  assertStringIncludes(bad.stderr, "Invalid value for minute: 61");

  const stranger = await run([
    "add",
    "--every",
    "1h",
    "--to",
    "telegram:100",
    "--owner",
    "99",
    "--prompt",
    "hi",
  ]);
  assert(stranger.code !== 0);
  assertStringIncludes(stranger.stderr, "not on telegram's allow-list");

  const added = await run([
    "add",
    "--cron",
    "0 8 * * 1-5",
    "--tz",
    "Europe/Berlin",
    "--to",
    "telegram:100",
    "--prompt",
    "Morning briefing",
    "--json",
  ]);
  assertEquals(added.code, 0, added.stderr);
  const task = JSON.parse(added.stdout) as View;
  assertEquals([task.to, task.owner, task.paused], ["telegram:100", "42", false]);
  // 08:00 Berlin is 06:00 or 07:00 UTC.
  assertStringIncludes(task.nextRun!, ":00:00.000Z");

  const listed = await run(["list", "--json"]);
  assertEquals((JSON.parse(listed.stdout) as View[]).map((t) => t.id), [task.id]);

  const paused = await run(["pause", task.id, "--json"]);
  assertEquals(JSON.parse(paused.stdout).task.paused, true);
  const refused = await run(["run-now", task.id]);
  assertStringIncludes(refused.stderr, "is paused");
  await run(["resume", task.id]);
  const now = await run(["run-now", task.id, "--json"]);
  const due = Date.parse(JSON.parse(now.stdout).task.nextRun);
  assert(Math.abs(due - Date.now()) < 60_000, "run-now makes the task due now");

  const text = await run(["list"]);
  assertStringIncludes(text.stdout, 'cron "0 8 * * 1-5" (Europe/Berlin)');
  const removed = await run(["remove", task.id]);
  assertEquals(removed.code, 0);
  assertEquals(JSON.parse((await run(["list", "--json"])).stdout), []);
});
