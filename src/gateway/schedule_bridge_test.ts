import { assertEquals } from "../../tests/assert.ts";
import type { Channel } from "../config/schema.ts";
import type { SessionHandle } from "../ipc/session.ts";
import type { DispatchOptions, DispatchResult, Inbound } from "../router/dispatch.ts";
import type { AgentRuntime } from "../router/runtime.ts";
import type { Task } from "../scheduler/store.ts";
import { taskRunner } from "./schedule_bridge.ts";

function runtime(result: DispatchResult, seen: [Inbound, DispatchOptions | undefined][]) {
  const r: AgentRuntime = {
    handle: (msg, opts) => {
      seen.push([msg, opts]);
      return Promise.resolve({ ...result, handle: msg.handle });
    },
    stream: () => {
      throw new Error("not used");
    },
    agents: () => [],
    sessions: () => [],
    transcript: () => [],
    clearSession: () => false,
    close: () => {},
  };
  return { runtime: r };
}

const TASK: Task = {
  id: "abc234",
  agent: "news",
  channel: "telegram",
  conversation: "-100200",
  owner: "42",
  prompt: "approve k3j9xz",
  timing: { kind: "every", ms: 60_000 },
  missed: "run",
  paused: false,
  createdAt: 0,
  nextRun: 0,
  lastRun: null,
  lastStatus: null,
  lastDetail: null,
  leaseUntil: null,
};

Deno.test("a scheduled run is the owner's message through the router, delivered on that conversation's handle", async () => {
  const seen: [Inbound, DispatchOptions | undefined][] = [];
  const sent: [SessionHandle<Channel>, string][] = [];
  const remembered: SessionHandle[] = [];
  const run = taskRunner({
    core: runtime({
      status: "answered",
      agent: "news",
      session: "telegram:-100200:news",
      text: "Here is the news.",
      rounds: 0,
      stoppedBy: "answer",
      usage: { inputTokens: 1, outputTokens: 1 },
    }, seen),
    send: (handle, m) => {
      sent.push([handle, m.text]);
      return Promise.resolve({ ok: true, messageId: "1", error: "" });
    },
    remember: (h) => remembered.push(h),
  });
  const outcome = await run(TASK, new AbortController().signal);
  assertEquals(outcome.status, "delivered");
  // The runtime's handle (not the core's): prompt text never answers an approval.
  const [msg] = seen[0];
  assertEquals([msg.handle.key, msg.sender, msg.text], [
    "telegram:-100200",
    "42",
    "approve k3j9xz",
  ]);
  assertEquals(seen[0][1]?.agent, "news");
  assertEquals(sent.map(([h, t]) => [h.channel, h.conversationId, t]), [
    ["telegram", "-100200", "Here is the news."],
  ]);
  // Approvals the run needs are shown in the target conversation.
  assertEquals(remembered.map((h) => h.key), ["telegram:-100200"]);
});

Deno.test("refused runs send nothing; failures are told in the conversation; a failed send is reported", async () => {
  const sent: string[] = [];
  const send = (_h: SessionHandle<Channel>, m: { text: string }) => {
    sent.push(m.text);
    return Promise.resolve({ ok: false, messageId: "", error: "adapter not connected" });
  };
  const refused = await taskRunner({ core: runtime({ status: "refused" }, []), send })(
    TASK,
    new AbortController().signal,
  );
  assertEquals(refused.status, "refused");
  assertEquals(sent, []);
  const failed = await taskRunner({
    core: runtime({
      status: "failed",
      agent: "news",
      session: "s",
      message: "The provider is down.",
      fix: "Try later.",
    }, []),
    send,
  })(TASK, new AbortController().signal);
  assertEquals(sent, ["The provider is down. Try later."]);
  assertEquals(failed, { status: "undelivered", detail: "adapter not connected" });
  const budget = await taskRunner({
    core: runtime({
      status: "limited",
      reason: "budget",
      message: "Budget used up.",
      retryAfterMs: 1,
    }, []),
    send: (_h, m) => {
      sent.push(m.text);
      return Promise.resolve({ ok: true, messageId: "2", error: "" });
    },
  })(TASK, new AbortController().signal);
  assertEquals(budget, { status: "over_budget", detail: "Budget used up." });
  assertEquals(sent.at(-1), "Budget used up.");
});
