import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { closeUnansweredCalls, recordInterruptedCalls } from "../../src/agent/recover.ts";
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
