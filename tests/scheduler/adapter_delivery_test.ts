/**
 * A scheduled task delivered to a chat channel over the real IPC socket: the gateway has not
 * heard from the conversation, yet the answer reaches the connected (test) Telegram adapter
 * in exactly the target conversation, after a turn through the runtime as the task's owner.
 */
import { assertEquals } from "../assert.ts";
import { dataPaths } from "../../src/config/paths.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { startAdapterHost } from "../../src/gateway/adapters.ts";
import { ConversationPrompts } from "../../src/gateway/channel_bridge.ts";
import { startScheduledTasks } from "../../src/gateway/schedule_bridge.ts";
import { connectGateway } from "../../src/ipc/client.ts";
import { createAgentRuntime } from "../../src/router/runtime.ts";
import { scheduleDbPath, ScheduleStore } from "../../src/scheduler/store.ts";
import { fakeChat } from "../fakes/openai_chat.ts";
import {
  captureLogger,
  identity,
  MemoryAudit,
  MemoryCredentials,
  waitFor,
} from "../ipc/helpers.ts";

Deno.test("a scheduled task's answer reaches the target Telegram conversation over the socket", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/sockets`, { mode: 0o700 });
  const model = fakeChat(() => ({ text: "Good morning: three meetings today." }));
  const tg = await identity("telegram");
  const config = ConfigSchema.parse({
    provider: { kind: "custom", model: "fake-model", baseUrl: model.baseUrl },
    channels: { telegram: { publicKey: tg.publicKeyBase64, allowFrom: ["42"] } },
  });
  const { log } = captureLogger();
  const audit = new MemoryAudit();
  const host = await startAdapterHost({
    config,
    paths: dataPaths(dir),
    credentials: new MemoryCredentials(),
    audit,
    log,
    supervise: false,
    dispatch: () => Promise.resolve({ status: "refused" }),
  });
  const sent: string[] = [];
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
        sent.push(`${m.conversationId}|${m.text}`);
        return Promise.resolve({ ok: true, messageId: "x", error: "" });
      },
    },
  );
  const runtime = createAgentRuntime({
    config,
    sessionsDb: `${dir}/sessions.db`,
    workspaceRoot: `${dir}/workspace`,
    audit,
    permit: () => Promise.resolve("deny"),
    env: { get: () => undefined },
  });
  const store = ScheduleStore.open(scheduleDbPath(dir));
  const task = store.add({
    agent: "default",
    channel: "telegram",
    conversation: "-100200",
    owner: "42",
    prompt: "Brief me.",
    timing: { kind: "every", ms: 3_600_000 },
    missed: "run",
    createdAt: Date.now(),
    nextRun: Date.now(),
  });
  const prompts = new ConversationPrompts();
  await waitFor(() => host.server.connected("telegram"), 5000, "adapter connected");
  const scheduler = await startScheduledTasks({
    core: { runtime },
    dataRoot: dir,
    audit,
    log,
    send: (handle, m) => host.server.send(handle, m),
    remember: (h) => prompts.remember(h),
    tickMs: 50,
  });
  try {
    await waitFor(() => sent.length === 1, 10_000, "the scheduled answer");
    assertEquals(sent, ["-100200|Good morning: three meetings today."]);
    await waitFor(() => store.get(task.id)!.lastStatus !== null, 5000, "run recorded");
    assertEquals(store.get(task.id)!.lastStatus, "delivered");
    const kinds = audit.events.map((e) => `${e.kind}:${e.actor}`);
    for (const k of ["message.in:42", "message.out:42", "schedule.run:42"]) {
      assertEquals(kinds.includes(k), true, `${k} in ${kinds.join(", ")}`);
    }
  } finally {
    await scheduler.stop();
    store.close();
    runtime.close();
    client.close();
    await host.close();
    await model.close();
    await Deno.remove(dir, { recursive: true });
  }
});
