/**
 * Per-conversation settings through the runtime: agent, model and prompt addition apply to
 * their conversation only; tools and senders only narrow (a group cannot add a tool its agent
 * lacks, nor let in a sender the channel does not allow).
 */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { openSession } from "../../src/ipc/session.ts";
import type { ChatRequest } from "../../src/providers/types.ts";
import { createAgentRuntime } from "../../src/router/runtime.ts";
import { answer, makeTools, RecordingAudit, ScriptedProvider } from "../agent/fakes.ts";

Deno.test("conversation settings: agent, model, prompt addition; tools and senders only narrow", async () => {
  const dir = await Deno.makeTempDir();
  const requests: ChatRequest[] = [];
  const config = ConfigSchema.parse({
    provider: { kind: "openai", model: "gpt-4o" },
    channels: { telegram: { allowFrom: ["alice", "bob"] } },
    agents: [
      { id: "default", systemPrompt: "Be kind." },
      { id: "family", tools: ["get_weather"] },
    ],
    conversations: [
      {
        channel: "telegram",
        conversation: "family-group",
        agent: "family",
        model: "gpt-4o-mini",
        systemPrompt: "Answer in German.",
        // write_note is not the agent's: listing it here must not add it.
        tools: ["get_weather", "write_note"],
        allowFrom: ["alice", "mallory"],
      },
      { channel: "telegram", conversation: "quiet", tools: [] },
    ],
  });
  const rt = createAgentRuntime({
    config,
    sessionsDb: join(dir, "sessions.db"),
    workspaceRoot: join(dir, "workspace"),
    audit: new RecordingAudit(),
    permit: () => Promise.resolve("allow"),
    tools: makeTools([]),
    env: { get: (k) => (k === "OPENAI_API_KEY" ? "sk-test" : undefined) },
    providerFactory: () => {
      const p = new ScriptedProvider([], () => answer("ok"));
      return {
        kind: p.kind,
        baseUrl: p.baseUrl,
        models: () => p.models(),
        health: () => p.health(),
        chat: (req) => {
          requests.push(structuredClone(req));
          return p.chat(req);
        },
      };
    },
  });
  const msg = { handle: openSession("telegram", "family-group"), sender: "alice", text: "hi" };
  try {
    const r = await rt.handle(msg);
    assert(r.status === "answered");
    assertEquals(r.agent, "family");
    assertEquals(requests[0].model, "gpt-4o-mini");
    assertStringIncludes(requests[0].system ?? "", "Answer in German.");
    assertEquals(requests[0].tools?.map((t) => t.name), ["get_weather"]);
    // bob is on the channel's list but not the group's; mallory on the group's only.
    assertEquals((await rt.handle({ ...msg, sender: "bob" })).status, "refused");
    assertEquals((await rt.handle({ ...msg, sender: "mallory" })).status, "refused");
    // Elsewhere the defaults hold: default agent, its model, all tools, bob welcome.
    const other = await rt.handle({
      ...msg,
      handle: openSession("telegram", "dm-bob"),
      sender: "bob",
    });
    assert(other.status === "answered" && other.agent === "default");
    assertEquals(requests[1].model, "gpt-4o");
    assert(!(requests[1].system ?? "").includes("German"));
    assertEquals(requests[1].tools?.map((t) => t.name), ["get_weather", "write_note"]);
    // An empty list takes every tool away in that conversation.
    await rt.handle({ ...msg, handle: openSession("telegram", "quiet") });
    assertEquals(requests[2].tools, undefined);
  } finally {
    rt.close();
  }
});
