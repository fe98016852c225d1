/**
 * Scheduled tasks through the real gateway: a task missed while the gateway was down runs once
 * at start, as a normal turn through the router (audited, answer stored in the WebChat
 * conversation); after a restart the same task is still there and runs again when due.
 */
import { assert, assertEquals } from "../assert.ts";
import { startGateway } from "../../src/gateway/gateway.ts";
import { scheduleDbPath, ScheduleStore } from "../../src/scheduler/store.ts";
import { fakeChat } from "../fakes/openai_chat.ts";

const ENV = { WIRKEN_VAULT_BACKEND: "passphrase", WIRKEN_VAULT_PASSPHRASE: "schedule-e2e-pass" };

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("a scheduled task runs through the gateway's router into a WebChat conversation, and survives a restart", async () => {
  let n = 0;
  const model = fakeChat(() => ({ text: `Briefing number ${++n}.` }));
  const base = await Deno.makeTempDir({ prefix: "wirken-sched-e2e-" });
  const dataDir = `${base}/data`;
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    `${dataDir}/config.json`,
    JSON.stringify({ provider: { kind: "custom", model: "fake-model", baseUrl: model.baseUrl } }),
  );
  const now = Date.now();
  let store = ScheduleStore.open(scheduleDbPath(dataDir));
  const task = store.add({
    agent: "default",
    channel: "webchat",
    conversation: "briefing",
    owner: "local",
    prompt: "What is on today?",
    timing: { kind: "every", ms: 3_600_000 },
    missed: "run",
    createdAt: now - 3 * 3_600_000,
    nextRun: now - 2 * 3_600_000, // missed while the gateway was down
  });
  store.close();
  const env = new Map(Object.entries({ ...ENV, HOME: Deno.env.get("HOME") ?? "/tmp" }));
  const start = () =>
    startGateway({ dataDir, port: 0, version: "0.0.0-test", terminalLog: false, env });
  store = ScheduleStore.open(scheduleDbPath(dataDir));
  try {
    let gw = await start();
    try {
      await waitFor(() => store.get(task.id)?.lastStatus != null, 15_000, "the missed run");
      const t = store.get(task.id)!;
      assertEquals(t.lastStatus, "delivered", t.lastDetail ?? "");
      assert(t.nextRun! > now, "the next run is in the future: missed runs collapse into one");
      const transcript = gw.core!.runtime.transcript("webchat:briefing:default");
      assertEquals(transcript.map((m) => m.role), ["user", "assistant"]);
      assertEquals(
        transcript[1].role === "assistant" && transcript[1].content,
        "Briefing number 1.",
      );
      // A normal turn: audited as the owner, plus the schedule's own event.
      const events = gw.audit!.log.query({});
      const kinds = events.map((e) => `${e.kind}:${e.actor}`);
      for (const k of ["message.in:local", "message.out:local", "schedule.run:local"]) {
        assert(kinds.includes(k), `missing ${k} in ${kinds.join(", ")}`);
      }
    } finally {
      await gw.close();
    }
    assertEquals(model.requests.length, 1, "ran exactly once");
    // `wirken schedule run-now` while the gateway is down; the next start carries it out.
    store.setNextRun(task.id, Date.now());
    gw = await start();
    try {
      await waitFor(
        () => store.runs(task.id).length === 2 && store.get(task.id)!.leaseUntil === null,
        15_000,
        "the run after restart",
      );
      assertEquals(store.runs(task.id).map((r) => r.status), ["delivered", "delivered"]);
      const transcript = gw.core!.runtime.transcript("webchat:briefing:default");
      assertEquals(transcript.length, 4);
    } finally {
      await gw.close();
    }
  } finally {
    store.close();
    await model.close();
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
});
