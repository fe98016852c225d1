/**
 * A scheduled run that needs an approval asks the task's owner in the target conversation,
 * over the real IPC socket and the real core (broker, approval hub, tools): the owner's
 * "approve <code>" arrives as an ordinary chat message, the tool runs, and the answer is
 * delivered to the same conversation.
 */
import { assert, assertEquals } from "../assert.ts";
import { ensureDataDir } from "../../src/config/paths.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { startAdapterHost } from "../../src/gateway/adapters.ts";
import { ConversationPrompts, dispatchFromAdapter } from "../../src/gateway/channel_bridge.ts";
import { startCore } from "../../src/gateway/core.ts";
import { startScheduledTasks } from "../../src/gateway/schedule_bridge.ts";
import { connectGateway } from "../../src/ipc/client.ts";
import { scheduleDbPath, ScheduleStore } from "../../src/scheduler/store.ts";
import { fakeChat } from "../fakes/openai_chat.ts";
import {
  captureLogger,
  identity,
  MemoryAudit,
  MemoryCredentials,
  waitFor,
} from "../ipc/helpers.ts";

Deno.test("a scheduled run's approval is asked of the owner in the target conversation", async () => {
  const base = await Deno.makeTempDir({ prefix: "wirken-sched-approval-" });
  const paths = await ensureDataDir(`${base}/data`);
  const model = fakeChat((n) =>
    n === 0
      ? { calls: [{ name: "write_file", args: { path: "note.txt", content: "milk" } }] }
      : { text: "Saved the note." }
  );
  const tg = await identity("telegram");
  const config = ConfigSchema.parse({
    provider: { kind: "custom", model: "fake-model", baseUrl: model.baseUrl },
    channels: { telegram: { publicKey: tg.publicKeyBase64, allowFrom: ["42"] } },
    // Raised to "ask every time", so the scheduled run must wait for the owner.
    tools: { tiers: { write_file: 3 } },
  });
  const { log } = captureLogger();
  const audit = new MemoryAudit();
  const core = await startCore({
    config,
    paths,
    audit,
    log,
    env: { get: (k) => (k === "HOME" ? base : undefined) },
    mcp: false,
  });
  const prompts = new ConversationPrompts();
  const host = await startAdapterHost({
    config,
    paths,
    credentials: new MemoryCredentials(),
    audit,
    log,
    supervise: false,
    dispatch: (m, h) => dispatchFromAdapter(core, m, h, prompts),
  });
  core.approvals.setSink("telegram", (p) => prompts.show(p, host));
  const sent: { conversation: string; text: string }[] = [];
  const client = await connectGateway(
    {
      socketPath: host.socketPath,
      channel: "telegram",
      signer: tg.signer,
      gatewayPublicKey: host.server.gatewayPublicKey,
      log,
    },
    {
      onOutbound(m) {
        sent.push({ conversation: m.conversationId, text: m.text });
        return Promise.resolve({ ok: true, messageId: String(sent.length), error: "" });
      },
    },
  );
  const store = ScheduleStore.open(scheduleDbPath(paths.root));
  const task = store.add({
    agent: "default",
    channel: "telegram",
    conversation: "-100200",
    owner: "42",
    prompt: "Note that we need milk.",
    timing: { kind: "at", at: Date.now() },
    missed: "run",
    createdAt: Date.now(),
    nextRun: Date.now(),
  });
  await waitFor(() => host.server.connected("telegram"), 5000, "adapter connected");
  const scheduler = await startScheduledTasks({
    core,
    dataRoot: paths.root,
    audit,
    log,
    send: (handle, m) => host.server.send(handle, m),
    remember: (h) => prompts.remember(h),
    tickMs: 50,
  });
  try {
    await waitFor(() => sent.some((m) => m.text.includes("Approval needed")), 10_000, "prompt");
    const prompt = sent.find((m) => m.text.includes("Approval needed"))!;
    assertEquals(prompt.conversation, "-100200");
    const code = /approve ([a-z0-9]{6})/.exec(prompt.text)?.[1];
    assert(code, prompt.text);
    await client.sendInbound({
      id: "m1",
      senderId: "42",
      conversationId: "-100200",
      text: `approve ${code}`,
    });
    await waitFor(() => sent.some((m) => m.text === "Saved the note."), 10_000, "the answer");
    assertEquals(
      sent.find((m) => m.text === "Saved the note.")?.conversation,
      "-100200",
    );
    assertEquals(await Deno.readTextFile(`${paths.workspace}/default/note.txt`), "milk");
    await waitFor(() => store.get(task.id)!.lastStatus !== null, 5000, "run recorded");
    assertEquals(store.get(task.id)!.lastStatus, "delivered");
    const kinds = audit.events.map((e) => e.kind);
    assert(kinds.includes("tool.approved"), kinds.join(", "));
  } finally {
    await scheduler.stop();
    store.close();
    client.close();
    await host.close();
    await core.close();
    await model.close();
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
});
