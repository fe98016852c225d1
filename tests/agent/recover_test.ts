import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import {
  closeUnansweredCalls,
  recordInterruptedCalls,
  recordUnansweredTurns,
  type RecoveryAudit,
  restartNotice,
} from "../../src/agent/recover.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { ProviderError } from "../../src/providers/errors.ts";
import type { Provider } from "../../src/providers/types.ts";
import { RateLimiter } from "../../src/ratelimit/limiter.ts";
import { dispatch, type DispatchDeps } from "../../src/router/dispatch.ts";
import { runTurn } from "../../src/agent/loop.ts";
import { openAuditLog } from "../../src/audit/log.ts";
import { openSession } from "../../src/ipc/session.ts";
import { openSessionStore, SESSION_MIGRATIONS } from "../../src/sessions/store.ts";
import { openDatabase } from "../../src/store/sqlite.ts";
import type { ChatMessage } from "../../src/providers/types.ts";
import { answer, call, makeTools, RecordingAudit, ScriptedProvider } from "./fakes.ts";

async function stores() {
  const dir = await Deno.makeTempDir();
  const sessions = openSessionStore(join(dir, "sessions.db"));
  const audit = openAuditLog(join(dir, "audit.db"));
  return {
    sessions,
    audit,
    async [Symbol.asyncDispose]() {
      sessions.close();
      audit.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const calls = [
  call("a", "get_weather", { city: "Paris" }),
  call("b", "write_note", { text: "x" }),
  call("c", "get_weather", { city: "Rome" }),
];

Deno.test("recover: a round cut off is audited per call state and the session gets every result", async () => {
  await using s = await stores();
  const id = s.sessions.getOrCreate(openSession("telegram", "42"), "default")
    .id;
  s.sessions.append(id, { role: "user", content: "do three things" });
  s.sessions.append(id, { role: "assistant", content: "", toolCalls: calls });
  const base = { session: id, agent: "default", channel: "telegram", actor: "u1" };
  // a ran to the end, b was approved and running, c never started.
  await s.audit.append({
    ...base,
    kind: "tool.requested",
    payload: { tool: "get_weather", callId: "a" },
  });
  await s.audit.append({
    ...base,
    kind: "tool.result",
    payload: { tool: "get_weather", callId: "a" },
  });
  await s.audit.append({
    ...base,
    kind: "tool.requested",
    payload: { tool: "write_note", callId: "b" },
  });
  await s.audit.append({
    ...base,
    kind: "tool.approved",
    payload: { tool: "write_note", callId: "b" },
  });

  const found = await recordInterruptedCalls({ sessions: s.sessions, audit: s.audit });
  assertEquals(found.map((f) => [f.callId, f.state]), [
    ["a", "finished"],
    ["b", "started"],
    ["c", "not_started"],
  ]);
  const cut = s.audit.query({ kinds: ["tool.interrupted"] });
  assertEquals(cut.map((e) => e.payload), [
    { tool: "write_note", callId: "b", started: true, approved: true },
    { tool: "get_weather", callId: "c", started: false, approved: false },
  ]);
  assertEquals(cut.map((e) => [e.session, e.actor]), [[id, "gateway"], [id, "gateway"]]);
  const [tool, notice] = s.sessions.history(id).slice(-2);
  // The turn ends with the restart notice, naming what did not finish.
  assert(notice?.role === "assistant");
  assertStringIncludes(notice.content, "write_note, get_weather did not complete");
  assert(tool?.role === "tool");
  assertEquals(tool.results.map((r) => r.callId), ["a", "b", "c"]);
  assert(tool.results.every((r) => r.isError));
  assertStringIncludes(tool.results[0].content, "output was lost");
  assertStringIncludes(tool.results[1].content, "write_note was interrupted");
  assertStringIncludes(tool.results[2].content, "was not run");
  assert(s.audit.verify().ok);

  assertEquals(found.map((f) => [f.channel, f.conversation]), Array(3).fill(["telegram", "42"]));
  // Idempotent: the session now ends in an answer, nothing more is recorded.
  assertEquals(await recordInterruptedCalls({ sessions: s.sessions, audit: s.audit }), []);
  assertEquals(s.audit.query({ kinds: ["tool.interrupted"] }).length, 2);
});

Deno.test("recover: finished sessions and skipped channels are left alone", async () => {
  await using s = await stores();
  const done = s.sessions.getOrCreate(openSession("webchat", "w"), "default");
  s.sessions.append(done.id, { role: "user", content: "hi" });
  s.sessions.append(done.id, { role: "assistant", content: "", toolCalls: [calls[0]] });
  s.sessions.append(done.id, {
    role: "tool",
    results: [{ callId: "a", name: "get_weather", content: "18" }],
  });
  s.sessions.append(done.id, { role: "assistant", content: "18 degrees" });
  // `wirken ask` may be running this one right now, in its own process.
  const ask = s.sessions.getOrCreate(openSession("cli", "c"), "default");
  s.sessions.append(ask.id, { role: "user", content: "go" });
  s.sessions.append(ask.id, { role: "assistant", content: "", toolCalls: [calls[1]] });
  const found = await recordInterruptedCalls({
    sessions: s.sessions,
    audit: s.audit,
    skipChannels: new Set(["cli"]),
  });
  assertEquals(found, []);
  assertEquals(s.audit.query({}).length, 0);
  assertEquals(s.sessions.history(ask.id).at(-1)?.role, "assistant");
});

Deno.test("recover: when the audit log cannot record, the session is not changed", async () => {
  await using s = await stores();
  const id = s.sessions.getOrCreate(openSession("telegram", "1"), "default")
    .id;
  s.sessions.append(id, { role: "user", content: "go" });
  s.sessions.append(id, { role: "assistant", content: "", toolCalls: [calls[0]] });
  const failing = {
    query: s.audit.query.bind(s.audit),
    append: () => Promise.reject(new Error("disk full")),
  };
  let threw = false;
  await recordInterruptedCalls({ sessions: s.sessions, audit: failing }).catch(() => threw = true);
  assert(threw);
  // Left for the next start to record: the history never says more than the audit trail.
  assertEquals(s.sessions.history(id).at(-1)?.role, "assistant");
});

Deno.test("closeUnansweredCalls: a call without a result gets one right after it; complete pairs are kept", () => {
  const history: ChatMessage[] = [
    { role: "user", content: "one" },
    { role: "assistant", content: "", toolCalls: [calls[0], calls[1]] },
    { role: "tool", results: [{ callId: "a", name: "get_weather", content: "18" }] },
    { role: "user", content: "two" },
    { role: "assistant", content: "", toolCalls: [calls[2]] },
    { role: "user", content: "three" },
  ];
  const fixed = closeUnansweredCalls(history);
  assertEquals(fixed.map((m) => m.role), [
    "user",
    "assistant",
    "tool",
    "user",
    "assistant",
    "tool",
    "user",
  ]);
  const first = fixed[2];
  assert(first.role === "tool");
  assertEquals(first.results.map((r) => r.callId), ["a", "b"]);
  assertEquals(first.results[0].content, "18");
  const second = fixed[5];
  assert(second.role === "tool");
  assertStringIncludes(second.results[0].content, "get_weather was interrupted");
  const complete = fixed.slice(0, 3);
  assertEquals(closeUnansweredCalls(complete), complete);
});

Deno.test("agent: a turn over a history with an unanswered call sends the model a valid history", async () => {
  const provider = new ScriptedProvider([answer("ok")]);
  await runTurn({
    provider,
    agent: { id: "a", model: "m" },
    tools: makeTools([]),
    history: [
      { role: "user", content: "go" },
      { role: "assistant", content: "", toolCalls: [calls[0]] },
    ],
    message: "and now?",
    audit: new RecordingAudit(),
    permit: () => Promise.resolve("allow"),
    session: { id: "s", channel: "cli", sender: "me" },
  });
  const sent = provider.requests[0].messages;
  assertEquals(sent.map((m) => m.role), ["user", "assistant", "tool", "user"]);
});

Deno.test("recover: call ids a provider restarts on every request (Ollama, Gemini) do not match an earlier round's or turn's events", async () => {
  await using s = await stores();
  const id = s.sessions.getOrCreate(openSession("telegram", "7"), "default").id;
  let hung!: () => void;
  const hanging = new Promise<void>((r) => hung = r);
  const log: string[] = [];
  const tools = makeTools(log).map((t) =>
    t.name !== "get_weather" ? t : {
      ...t,
      // Stands for the process being killed while the tool runs: it never returns.
      run: (input: { city: string }, ctx: Parameters<typeof t.run>[1]) =>
        input.city === "Hang" ? (hung(), new Promise<never>(() => {})) : t.run(input, ctx),
    } as typeof t
  );
  const turn = (message: string, script: ReturnType<typeof answer>[]) => {
    // What the router records at the start of every turn.
    const base = { session: id, agent: "default", channel: "telegram", actor: "u1" };
    return s.audit.append({ ...base, kind: "message.in", payload: { chars: message.length } })
      .then(() =>
        runTurn({
          provider: new ScriptedProvider(script),
          agent: { id: "default", model: "m" },
          tools,
          history: s.sessions.history(id),
          message,
          audit: s.audit,
          permit: () => Promise.resolve("allow"),
          session: { id, channel: "telegram", sender: "u1" },
          onMessage: (m) => s.sessions.append(id, m),
        })
      );
  };
  // An earlier turn ran `ollama-call-0` to the end.
  await turn("paris?", [
    answer("", call("ollama-call-0", "get_weather", { city: "Paris" })),
    answer("18"),
  ]);
  // This turn: a first round runs both calls, the second round reuses the ids and the gateway
  // dies in its first call; its second call never starts.
  turn("rome and oslo, then again", [
    answer(
      "",
      call("ollama-call-0", "get_weather", { city: "Rome" }),
      call("ollama-call-1", "get_weather", { city: "Oslo" }),
    ),
    answer(
      "",
      call("ollama-call-0", "get_weather", { city: "Hang" }),
      call("ollama-call-1", "get_weather", { city: "Oslo" }),
    ),
  ]).catch(() => {});
  await hanging;

  const found = await recordInterruptedCalls({ sessions: s.sessions, audit: s.audit });
  assertEquals(found.map((f) => [f.callId, f.state]), [
    ["ollama-call-0", "started"],
    ["ollama-call-1", "not_started"],
  ]);
  assertEquals(s.audit.query({ kinds: ["tool.interrupted"] }).map((e) => e.payload), [
    { tool: "get_weather", callId: "ollama-call-0", started: true, approved: false },
    { tool: "get_weather", callId: "ollama-call-1", started: false, approved: false },
  ]);
  const tool = s.sessions.history(id).at(-2);
  assert(tool?.role === "tool");
  assertStringIncludes(tool.results[0].content, "get_weather was interrupted");
  assertStringIncludes(tool.results[1].content, "was not run");
});

Deno.test("recover: a denied call is reported denied (it did not run), not as run with its output lost", async () => {
  await using s = await stores();
  const id = s.sessions.getOrCreate(openSession("telegram", "9"), "default").id;
  s.sessions.append(id, { role: "user", content: "note, then weather" });
  s.sessions.append(id, { role: "assistant", content: "", toolCalls: [calls[1], calls[2]] });
  const base = { session: id, agent: "default", channel: "telegram", actor: "u1" };
  await s.audit.append({ ...base, kind: "message.in", payload: { chars: 18 } });
  await s.audit.append({
    ...base,
    kind: "tool.requested",
    payload: { tool: "write_note", callId: "b" },
  });
  await s.audit.append({
    ...base,
    kind: "tool.denied",
    payload: { tool: "write_note", callId: "b" },
  });
  await s.audit.append({
    ...base,
    kind: "tool.requested",
    payload: { tool: "get_weather", callId: "c" },
  });

  const found = await recordInterruptedCalls({ sessions: s.sessions, audit: s.audit });
  assertEquals(found.map((f) => [f.callId, f.state]), [["b", "denied"], ["c", "started"]]);
  // The denial is already audited; only the running call is recorded as interrupted.
  assertEquals(
    s.audit.query({ kinds: ["tool.interrupted"] }).map((e) => e.payload.callId),
    ["c"],
  );
  const [tool, notice] = s.sessions.history(id).slice(-2);
  assert(tool?.role === "tool");
  assertStringIncludes(tool.results[0].content, "write_note was denied; it did not run");
  assert(!tool.results[0].content.includes("ran to the end"));
  assert(notice?.role === "assistant");
  // Denied by the user is not something the restart kept from finishing.
  assertStringIncludes(notice.content, ": get_weather did not complete");
});

Deno.test("recover: a session re-keyed since the crash is matched to the audit events under its old id", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "sessions.db");
  const audit = openAuditLog(join(dir, "audit.db"));
  try {
    // Written before session ids came from the handle's key (schema of then, raw conversation id).
    const legacy = "matrix:!room:example.org:default";
    const old = openDatabase(path, { migrations: SESSION_MIGRATIONS.slice(0, 2) });
    old.prepare(
      `INSERT INTO sessions (id, agent, channel, conversation, created_at, updated_at)
       VALUES (?, 'default', 'matrix', '!room:example.org', '2025-01-01T00:00:00.000Z',
       '2025-01-01T00:00:00.000Z')`,
    ).run(legacy);
    old.prepare(
      `INSERT INTO messages (session_id, role, content, tool_calls, created_at)
       VALUES (?, 'assistant', '', ?, '2025-01-01T00:00:00.000Z')`,
    ).run(legacy, JSON.stringify([calls[1]]));
    old.close();
    const base = { session: legacy, agent: "default", channel: "matrix", actor: "u1" };
    await audit.append({ ...base, kind: "message.in", payload: { chars: 4 } });
    await audit.append({
      ...base,
      kind: "tool.requested",
      payload: { tool: "write_note", callId: "b" },
    });
    await audit.append({
      ...base,
      kind: "tool.approved",
      payload: { tool: "write_note", callId: "b" },
    });

    const sessions = openSessionStore(path);
    try {
      const found = await recordInterruptedCalls({ sessions, audit });
      assertEquals(found.map((f) => [f.session, f.callId, f.state]), [
        ["matrix:!room%3Aexample.org:default", "b", "started"],
      ]);
      assertEquals(audit.query({ kinds: ["tool.interrupted"] }).map((e) => e.payload), [
        { tool: "write_note", callId: "b", started: true, approved: true },
      ]);
    } finally {
      sessions.close();
    }
  } finally {
    audit.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Dispatch over the real stores, with a model that answers, fails or hangs by message text. */
function dispatchOver(s: { sessions: ReturnType<typeof openSessionStore>; audit: RecoveryAudit }) {
  // Resolved once per hanging call, in order.
  const entered: (() => void)[] = [];
  const hangs = [0, 1].map(() => new Promise<void>((r) => entered.push(r)));
  const config = ConfigSchema.parse({
    provider: { kind: "openai", model: "gpt-4o" },
    channels: { telegram: { allowFrom: ["alice"] } },
  });
  const provider: Provider = {
    kind: "custom",
    baseUrl: "http://127.0.0.1:1",
    async *chat(request) {
      const last = request.messages.at(-1);
      const text = last?.role === "user" ? last.content : "";
      if (text === "hang") {
        entered.shift()?.();
        // The crash: this call never returns.
        await new Promise(() => {});
      }
      if (text === "fail") throw new ProviderError("unavailable", "The model is down.");
      await Promise.resolve();
      yield { type: "text", text: `re: ${text}` };
    },
    models: () => Promise.resolve(["fake"]),
    health: () => Promise.resolve({ ok: true, message: "fake", latencyMs: 0 }),
  };
  const deps: DispatchDeps = {
    config,
    sessions: s.sessions,
    limiter: new RateLimiter({
      sender: { perMinute: 100 },
      channel: { perMinute: 100 },
      global: { perMinute: 100 },
    }),
    audit: s.audit,
    permit: () => Promise.resolve("allow"),
    tools: [],
    provider: () => provider,
    workspaceRoot: "/nonexistent",
  };
  return {
    hangs,
    send: (conversation: string, text: string, channel: "telegram" | "cli" = "telegram") =>
      dispatch(deps, { handle: openSession(channel, conversation), sender: "alice", text }),
  };
}

Deno.test("recover: a message cut off while the model answered is reported once; answered and failed turns are not", async () => {
  await using s = await stores();
  const d = dispatchOver(s);
  assertEquals((await d.send("1", "hi")).status, "answered");
  assertEquals((await d.send("2", "fail")).status, "failed");
  // The crash: the turn is in the model call when the process dies (never settles here).
  void d.send("3", "hang");
  await d.hangs[0];
  void d.send("4", "hang", "cli");
  await d.hangs[1];
  const cutId = s.sessions.list().find((x) => x.conversation === "3")!.id;
  // Its history ends in the user's message, like the failed turn's: the audit log tells them apart.
  assertEquals(s.sessions.history(cutId).at(-1), { role: "user", content: "hang" });
  const before = s.audit.query({}).length;

  const found = await recordUnansweredTurns({
    sessions: s.sessions,
    audit: s.audit,
    skipChannels: new Set(["cli"]),
  });
  assertEquals(found, [{ session: cutId, channel: "telegram", conversation: "3" }]);
  const added = s.audit.query({}).slice(before);
  assertEquals(added.map((e) => [e.kind, e.session, e.actor]), [["message.out", cutId, "gateway"]]);
  assertEquals(added[0].payload.interrupted, true);
  const notice = s.sessions.history(cutId).at(-1);
  assert(notice?.role === "assistant");
  assertEquals(notice.content, restartNotice([]));
  // Not asked again: only the one cut-off call reached the model for it.
  for (const conversation of ["1", "2"]) {
    const id = s.sessions.list().find((x) => x.conversation === conversation)!.id;
    assertEquals(
      s.sessions.history(id).map((m) => m.role),
      conversation === "1" ? ["user", "assistant"] : ["user"],
    );
  }

  // A second start reports nothing and records nothing.
  const count = s.audit.query({}).length;
  const again = await recordUnansweredTurns({
    sessions: s.sessions,
    audit: s.audit,
    skipChannels: new Set(["cli"]),
  });
  assertEquals(again, []);
  assertEquals(s.audit.query({}).length, count);
});

Deno.test("recover: a turn whose tool calls recovery answered gets its reply recorded, not a second notice", async () => {
  await using s = await stores();
  const id = s.sessions.getOrCreate(openSession("telegram", "9"), "default").id;
  const base = { session: id, agent: "default", channel: "telegram", actor: "u1" };
  await s.audit.append({ ...base, kind: "message.in", payload: { chars: 2 } });
  s.sessions.append(id, { role: "user", content: "go" });
  s.sessions.append(id, { role: "assistant", content: "", toolCalls: [calls[0]] });
  // The call ran to the end (so no tool.interrupted is written), then the crash.
  await s.audit.append({
    ...base,
    kind: "tool.requested",
    payload: { tool: "get_weather", callId: "a" },
  });
  await s.audit.append({
    ...base,
    kind: "tool.result",
    payload: { tool: "get_weather", callId: "a" },
  });
  const cut = await recordInterruptedCalls({ sessions: s.sessions, audit: s.audit });
  assertEquals(cut.map((c) => c.state), ["finished"]);
  const handled = new Set(cut.map((c) => c.session));
  assertEquals(await recordUnansweredTurns({ sessions: s.sessions, audit: s.audit, handled }), []);
  const out = s.audit.query({ kinds: ["message.out"] });
  assertEquals(out.map((e) => e.payload), [{ interrupted: true }]);
  // One notice in the session: tool-call recovery's.
  assertEquals(
    s.sessions.history(id).filter((m) => m.role === "assistant" && !m.toolCalls).length,
    1,
  );
  // The next start finds the turn answered.
  assertEquals(await recordInterruptedCalls({ sessions: s.sessions, audit: s.audit }), []);
  assertEquals(await recordUnansweredTurns({ sessions: s.sessions, audit: s.audit }), []);
  assertEquals(s.audit.query({ kinds: ["message.out"] }).length, 1);
});
