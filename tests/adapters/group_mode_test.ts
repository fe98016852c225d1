/**
 * The group mention rule per conversation (`conversations[].groupMode`), through the real
 * gateway, supervisor, start-up bundle and Telegram adapter process against the fake Bot API:
 * a message that does not mention the bot is answered in a group set to `all` and ignored in a
 * group set to `mention` or left at the default; then the driver alone: a configured rule
 * beats the channel's `TELEGRAM_GROUP_MODE` default, and a topic follows its group.
 */
import { assert, assertEquals } from "../assert.ts";
import { createTelegramDriver } from "../../adapters/telegram/main.ts";
import { configuredGroupMode } from "../../adapters/shared/conventions.ts";
import { dm, fakeTelegram, groupMessage } from "../fakes/telegram.ts";
import { fakeChat } from "../fakes/openai_chat.ts";
import { startChannelGateway, startDriverFixture, waitConnected, waitFor } from "./helpers.ts";

const OWNER = 4242;

Deno.test("group mode: per conversation through the real gateway and Telegram adapter", async () => {
  const tg = fakeTelegram();
  const model = fakeChat((_n, body) => {
    const msgs = body.messages as { role: string; content?: unknown }[];
    return { text: `re: ${String(msgs.at(-1)?.content)}` };
  });
  const gw = await startChannelGateway({
    channel: "telegram",
    credentials: { "channel.telegram.token": tg.token },
    allowFrom: [String(OWNER)],
    modelUrl: model.baseUrl,
    env: { TELEGRAM_API_ROOT: tg.url },
    config: {
      conversations: [
        { channel: "telegram", conversation: "-1001", groupMode: "all" },
        { channel: "telegram", conversation: "-1002", groupMode: "mention" },
      ],
    },
  });
  try {
    await waitConnected(gw.gateway, "telegram");
    await waitFor(() => tg.polls() > 0, 20_000, "adapter polling the fake");
    tg.push(groupMessage(-1002, OWNER, "chatter in the mention group"));
    tg.push(groupMessage(-1003, OWNER, "chatter in a group with no setting"));
    tg.push(groupMessage(-1001, OWNER, "chatter in the all group"));
    await waitFor(
      () => tg.sent("sendMessage").some((c) => c.params.chat_id === "-1001"),
      20_000,
      "the answer in the `all` group",
    );
    // The mention group still answers a mention, so its silence above was the rule.
    tg.push(groupMessage(-1002, OWNER, "now for you", { mention: tg.bot.username }));
    tg.push(dm(OWNER, "and a DM"));
    await waitFor(
      () => tg.sent("sendMessage").some((c) => c.params.chat_id === String(OWNER)),
      20_000,
      "the DM answer",
    );
    await waitFor(
      () => tg.sent("sendMessage").some((c) => c.params.chat_id === "-1002"),
      20_000,
      "the mention answer",
    );
    const asked = model.requests.map((b) =>
      String((b.messages as { content?: unknown }[]).at(-1)?.content)
    );
    assertEquals(asked.sort(), ["and a DM", "chatter in the all group", "now for you"]);
    assert(
      !tg.sent("sendMessage").some((c) => c.params.chat_id === "-1003"),
      "the group with no setting kept the mention default",
    );
  } finally {
    await gw.close();
    await tg.close();
    await model.close();
  }
});

Deno.test("group mode: a configured rule beats TELEGRAM_GROUP_MODE; a topic follows its group", async () => {
  const tg = fakeTelegram();
  const modes = { "-2002": "mention" } as const;
  const { rec, close } = await startDriverFixture({
    channel: "telegram",
    fake: tg,
    env: { TELEGRAM_API_ROOT: tg.url, TELEGRAM_GROUP_MODE: "all" },
    createDriver: createTelegramDriver,
    credentials: { "channel.telegram.token": tg.token },
    ready: () => waitFor(() => tg.polls() > 0, 15_000, "grammy polling"),
    context: (ctx) => ({ ...ctx, groupMode: (id: string) => configuredGroupMode(modes, id) }),
  });
  try {
    tg.push(groupMessage(-2002, OWNER, "quiet here"));
    const topic = groupMessage(-2002, OWNER, "quiet in a topic too");
    Object.assign(topic.message!, { is_topic_message: true, message_thread_id: 7 });
    tg.push(topic);
    tg.push(groupMessage(-2005, OWNER, "the channel default is all"));
    await waitFor(() => rec.inbound.length >= 1, 10_000, "the default group's message");
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(rec.inbound.map((m) => [m.conversationId, m.text]), [
      ["-2005", "the channel default is all"],
    ]);
  } finally {
    await close();
  }
});

Deno.test("configuredGroupMode: own entry, else the group's; inherited keys are not entries", () => {
  const modes = { "-1": "all", "-1/9": "mention" } as const;
  assertEquals(configuredGroupMode(modes, "-1"), "all");
  assertEquals(configuredGroupMode(modes, "-1/5"), "all");
  assertEquals(configuredGroupMode(modes, "-1/9"), "mention");
  assertEquals(configuredGroupMode(modes, "-2"), undefined);
  assertEquals(configuredGroupMode(modes, "constructor"), undefined);
  assertEquals(configuredGroupMode(undefined, "-1"), undefined);
});
