import { assert, assertEquals } from "../../tests/assert.ts";
import type { AuditEventInput } from "../audit/types.ts";
import { type Clock, type RunOutcome, startScheduler } from "./scheduler.ts";
import { type NewTask, ScheduleStore } from "./store.ts";
import { nextRun, parseCron } from "./timing.ts";

class FakeClock implements Clock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  sleep(_ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((r) => signal.addEventListener("abort", () => r(), { once: true }));
  }
}

async function tempStorePath(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "wirken-sched-" });
  return `${dir}/schedule.db`;
}

function task(over: Partial<NewTask> & Pick<NewTask, "timing" | "nextRun">): NewTask {
  return {
    agent: "default",
    channel: "webchat",
    conversation: "briefing",
    owner: "local",
    prompt: "news?",
    missed: "run",
    createdAt: 0,
    ...over,
  };
}

Deno.test("a cron task fires at the right minutes across DST with an injected clock", async () => {
  const path = await tempStorePath();
  const store = ScheduleStore.open(path);
  const timing = parseCron("0 8 * * *", "America/New_York");
  const start = Date.parse("2026-03-07T12:00:00Z"); // DST starts 2026-03-08 in New York
  const clock = new FakeClock(start);
  store.add(task({ timing, nextRun: nextRun(timing, start), createdAt: start }));
  const fired: string[] = [];
  const s = startScheduler({
    store,
    clock,
    run: () => {
      fired.push(new Date(clock.now()).toISOString());
      return Promise.resolve({ status: "delivered", detail: "" });
    },
  }, false);
  // Walk the clock minute by minute over three days.
  for (let t = start; t < start + 3 * 86_400_000; t += 60_000) {
    clock.t = t;
    await s.tick();
    await s.idle();
  }
  await s.stop();
  // 08:00 New York: EST (UTC-5) before the change, EDT (UTC-4) from 2026-03-08 on.
  assertEquals(fired, [
    "2026-03-07T13:00:00.000Z",
    "2026-03-08T12:00:00.000Z",
    "2026-03-09T12:00:00.000Z",
  ]);
  assertEquals(store.runs(store.list()[0].id).length, 3);
  store.close();
});

Deno.test("a task missed during downtime runs once at start; skip policy does not run", async () => {
  const path = await tempStorePath();
  let store = ScheduleStore.open(path);
  const every = { kind: "every" as const, ms: 60 * 60_000 };
  const a = store.add(task({ timing: every, nextRun: 60 * 60_000, createdAt: 0 }));
  const b = store.add(task({ timing: every, nextRun: 60 * 60_000, createdAt: 0, missed: "skip" }));
  store.close();
  // The gateway was down for ten hours; a new process opens the same file.
  store = ScheduleStore.open(path);
  const clock = new FakeClock(10 * 60 * 60_000 + 5_000);
  const ran: string[] = [];
  const s = startScheduler({
    store,
    clock,
    run: (t) => {
      ran.push(t.id);
      return Promise.resolve({ status: "delivered", detail: "" });
    },
  }, false);
  await s.tick();
  await s.idle();
  await s.tick();
  await s.idle();
  assertEquals(ran, [a.id]);
  assertEquals(store.get(a.id)!.nextRun, 11 * 60 * 60_000);
  assertEquals(store.get(b.id)!.nextRun, 11 * 60 * 60_000);
  assertEquals(store.get(a.id)!.lastStatus, "delivered");
  await s.stop();
  store.close();
});

Deno.test("two runs of one task never overlap, even from two schedulers on one file", async () => {
  const path = await tempStorePath();
  const store1 = ScheduleStore.open(path);
  const store2 = ScheduleStore.open(path);
  const every = { kind: "every" as const, ms: 60_000 };
  const t = store1.add(task({ timing: every, nextRun: 60_000, createdAt: 0 }));
  const clock = new FakeClock(60_000);
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const run = async (): Promise<RunOutcome> => {
    running++;
    runs++;
    maxRunning = Math.max(maxRunning, running);
    await gate;
    running--;
    return { status: "delivered", detail: "" };
  };
  const s1 = startScheduler({ store: store1, clock, run }, false);
  const s2 = startScheduler({ store: store2, clock, run }, false);
  // The run takes several minutes; ticks keep coming from both.
  for (let i = 0; i < 5; i++) {
    clock.t += 60_000;
    await Promise.all([s1.tick(), s2.tick()]);
  }
  assertEquals([runs, maxRunning], [1, 1]);
  release();
  await Promise.all([s1.idle(), s2.idle()]);
  assertEquals(store1.get(t.id)!.leaseUntil, null);
  clock.t += 60_000;
  await s1.tick();
  await s1.idle();
  assertEquals(runs, 2);
  await Promise.all([s1.stop(), s2.stop()]);
  store1.close();
  store2.close();
});

Deno.test("run outcome, audit event, paused tasks and one-shots", async () => {
  const path = await tempStorePath();
  const store = ScheduleStore.open(path);
  const clock = new FakeClock(1000);
  const events: AuditEventInput[] = [];
  const once = store.add(task({ timing: { kind: "at", at: 1000 }, nextRun: 1000 }));
  const paused = store.add(task({ timing: { kind: "at", at: 1000 }, nextRun: 1000 }));
  store.setPaused(paused.id, true);
  const s = startScheduler({
    store,
    clock,
    audit: { append: (e) => Promise.resolve(events.push(e)) },
    run: () => Promise.reject(new Error("boom")),
  }, false);
  await s.tick();
  await s.idle();
  const done = store.get(once.id)!;
  assertEquals([done.nextRun, done.lastStatus, done.lastDetail], [null, "error", "boom"]);
  assertEquals(store.get(paused.id)!.lastRun, null);
  assertEquals(events.map((e) => [e.kind, e.payload?.status]), [["schedule.run", "error"]]);
  assert(store.remove(once.id));
  assertEquals(store.list().map((t) => t.id), [paused.id]);
  await s.stop();
  store.close();
});
