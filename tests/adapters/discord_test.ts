/**
 * The Discord adapter (real discord.js) against a fake REST API + gateway WebSocket: inbound
 * rules, escaping, splitting, mentions neutralised, files, button approvals, 429 and gateway
 * loss; then the real gateway, supervisor and adapter process end to end.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { createDiscordDriver, threadGroupMode } from "../../adapters/discord/main.ts";
import { configuredGroupMode } from "../../adapters/shared/conventions.ts";
import { toDiscord } from "../../adapters/discord/format.ts";
import { fakeDiscord, message, snowflake } from "../fakes/discord.ts";
import { fakeChat } from "../fakes/openai_chat.ts";
import { startChannelGateway, startDriverFixture, waitConnected, waitFor } from "./helpers.ts";
import type { DriverContext } from "../../adapters/shared/runtime.ts";

const OWNER = "222222222222222222";
const DM = "333333333333333333";
const GUILD = "444444444444444444";
const TEXT = "555555555555555555";

async function startDriver(context?: (ctx: DriverContext) => DriverContext) {
  const dc = fakeDiscord();
  const t = await startDriverFixture({
    channel: "discord",
    fake: dc,
    env: { DISCORD_API_BASE: dc.apiBase },
    createDriver: createDiscordDriver,
    credentials: { "channel.discord.token": dc.token },
    ready: () => waitFor(() => dc.sessions() > 0, 15_000, "discord.js identified"),
    context,
  });
  return { ...t, dc };
}

Deno.test("discord format: markup escaped, mentions broken, code kept", () => {
  assertEquals(
    toDiscord("@everyone look <@123> **bold** *it* `code @here` [x](https://e.com)"),
    "@\u200beveryone look \\<@123\\> **bold** *it* `code @\u200bhere` [x](<https://e.com>)",
  );
  assertEquals(toDiscord("a_b_c ~~s~~ || spoiler ||"), "a\\_b\\_c ~~s~~ \\|\\| spoiler \\|\\|");
  assertStringIncludes(toDiscord("```js\nlet a = '@everyone';\n```"), "```js\nlet a = '@\u200b");
});

Deno.test("discord: DMs forwarded; guild messages only when mentioned or replied to", async () => {
  const t = await startDriver();
  try {
    t.dc.dispatch("MESSAGE_CREATE", message({ author: OWNER, channel: DM, content: "hi" }));
    await waitFor(() => t.rec.inbound.length === 1, 10_000, "dm");
    assertEquals(
      [t.rec.inbound[0].senderId, t.rec.inbound[0].conversationId, t.rec.inbound[0].isGroup],
      [OWNER, DM, false],
    );
    t.dc.dispatch(
      "MESSAGE_CREATE",
      message({ author: OWNER, channel: TEXT, guild: GUILD, content: "chatter" }),
    );
    t.dc.dispatch(
      "MESSAGE_CREATE",
      message({ author: OWNER, channel: TEXT, guild: GUILD, content: "@everyone hey" }),
    );
    t.dc.dispatch("MESSAGE_CREATE", message({ author: "9", channel: DM, content: "x", bot: true }));
    t.dc.dispatch(
      "MESSAGE_CREATE",
      message({
        author: OWNER,
        channel: TEXT,
        guild: GUILD,
        content: `<@${t.dc.bot.id}> what's up?`,
        mentions: [t.dc.bot.id],
      }),
    );
    await waitFor(() => t.rec.inbound.length === 2, 10_000, "mention");
    assertEquals(t.rec.inbound[1].text, "what's up?");
    t.dc.dispatch(
      "MESSAGE_CREATE",
      message({
        author: OWNER,
        channel: TEXT,
        guild: GUILD,
        content: "and?",
        replyTo: { id: snowflake(), author: t.dc.bot.id },
      }),
    );
    await waitFor(() => t.rec.inbound.length === 3, 10_000, "reply");
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(t.rec.inbound.length, 3, "chatter, @everyone and bots ignored");
    assert(!t.dc.calls.some((c) => c.path.endsWith("/typing")), "no typing before acceptance");
    t.driver.onTyping!(DM);
    await waitFor(() => t.dc.calls.some((c) => c.path.endsWith("/typing")), 5000, "typing");
    await t.out({ conversationId: DM, text: "done" });
  } finally {
    await t.close();
  }
});

Deno.test("discord: answers split at 2000 without pings; 429 retried; gateway loss resumes", async () => {
  const t = await startDriver();
  try {
    const long = Array.from({ length: 80 }, (_, i) => `Line ${i} @everyone <@1> ${"é".repeat(40)}`)
      .join("\n\n");
    t.dc.fail(/\/channels\/\d+\/messages$/, 429, 1, 0.5);
    const r = await t.out({ conversationId: DM, text: long, replyToId: "77" });
    assert(r.ok, r.error);
    assertEquals(t.dc.calls.filter((c) => c.method === "POST!429").length, 1, "429 seen");
    const posts = t.dc.posted();
    assert(posts.length >= 3, `${posts.length} parts`);
    for (const p of posts) {
      const content = String(p.body.content);
      assert(content.length <= 2000, `${content.length}`);
      assert(!/@everyone/.test(content), "mass mention neutralised");
      assertEquals(p.body.allowed_mentions, { parse: [] });
    }
    assertEquals(
      (posts[0].body.message_reference as { message_id: string }).message_id,
      "77",
    );
    t.dc.dropGateway();
    await waitFor(() => t.dc.resumes() + t.dc.identifies() >= 2, 20_000, "reconnected");
    await waitFor(() => t.dc.sessions() > 0, 10_000, "session live");
    t.dc.dispatch("MESSAGE_CREATE", message({ author: OWNER, channel: DM, content: "back?" }));
    await waitFor(() => t.rec.inbound.length === 1, 10_000, "message after reconnect");
  } finally {
    await t.close();
  }
});

Deno.test("discord: attachments within the cap arrive; buttons answer with the clicker", async () => {
  const t = await startDriver();
  try {
    const img = new Uint8Array([1, 2, 3, 4, 5]);
    const url = t.dc.addFile("cat.png", img);
    t.dc.dispatch(
      "MESSAGE_CREATE",
      message({
        author: OWNER,
        channel: DM,
        content: "see",
        attachments: [
          { filename: "cat.png", size: 5, url, content_type: "image/png" },
          { filename: "huge.bin", size: 50 * 1024 * 1024, url },
        ],
      }),
    );
    await waitFor(() => t.rec.inbound.length === 1, 10_000, "message with files");
    const a = t.rec.inbound[0].attachments ?? [];
    assertEquals(a.map((x) => [x.name, x.mimeType, [...x.data]]), [["cat.png", "image/png", [
      ...img,
    ]]]);
    assertStringIncludes(t.rec.inbound[0].metadata?.attachmentsSkipped ?? "", "huge.bin");

    const answer = t.driver.onApprovalRequest!({
      type: "approvalRequest",
      requestId: "q",
      conversationId: DM,
      toolName: "exec",
      summary: "Run ls? @everyone",
      tier: "3",
      expiresAtMs: Date.now() + 30_000,
    });
    await waitFor(() => t.dc.posted().some((p) => p.body.components), 10_000, "prompt");
    const prompt = t.dc.posted().find((p) => p.body.components)!;
    const row = (prompt.body.components as { components: { custom_id: string }[] }[])[0];
    const click = (custom_id: string, channel: string, user: string) =>
      t.dc.dispatch("INTERACTION_CREATE", {
        id: snowflake(),
        token: "itok",
        type: 3,
        channel_id: channel,
        data: { custom_id, component_type: 2 },
        user: { id: user, username: "x", discriminator: "0" },
        // What real Discord always sends; discord.js reads it.
        application_id: t.dc.bot.id,
        version: 1,
        entitlements: [],
        app_permissions: "0",
        locale: "en-US",
        authorizing_integration_owners: {},
        channel: { id: channel, type: 1 },
        message: {
          id: snowflake(),
          channel_id: channel,
          content: "",
          author: { id: t.dc.bot.id, username: "bot", bot: true, discriminator: "0" },
          timestamp: new Date().toISOString(),
          attachments: [],
          embeds: [],
          mentions: [],
          components: [],
          type: 0,
        },
      });
    click(row.components[1].custom_id, "999", "999"); // other channel: stale
    click(row.components[1].custom_id, DM, OWNER);
    assertEquals(await answer, { approved: false, decidedBy: OWNER });
    const callbacks = t.dc.calls.filter((c) => c.path.includes("/interactions/"));
    await waitFor(() => t.dc.calls.filter((c) => c.path.includes("/interactions/")).length >= 2);
    assert(callbacks.length >= 1);
  } finally {
    await t.close();
  }
});

Deno.test("discord e2e: supervisor-run adapter -> router -> fake model -> REST; strangers get nothing", async () => {
  const dc = fakeDiscord();
  const model = fakeChat(() => ({ text: "Hello @everyone, **done**." }));
  let outsideHits = 0;
  const closers: (() => Promise<void>)[] = [];
  const gw = await startChannelGateway({
    channel: "discord",
    credentials: { "channel.discord.token": dc.token },
    allowFrom: [OWNER],
    modelUrl: model.baseUrl,
    env: { DISCORD_API_BASE: dc.apiBase },
  });
  try {
    await waitConnected(gw.gateway, "discord");
    await waitFor(() => dc.sessions() > 0, 20_000, "adapter on the gateway");
    dc.dispatch("MESSAGE_CREATE", message({ author: "666", channel: "777", content: "let me in" }));
    // An attachment URL on a host outside the manifest: the confined adapter cannot fetch it.
    const outside = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
      outsideHits++;
      return new Response("x");
    });
    closers.push(() => outside.shutdown());
    dc.dispatch(
      "MESSAGE_CREATE",
      message({
        author: OWNER,
        channel: DM,
        content: "hello",
        attachments: [{
          filename: "x.png",
          size: 1,
          url: `http://127.0.0.1:${outside.addr.port}/x.png`,
        }],
      }),
    );
    await waitFor(() => dc.posted().length >= 1, 20_000, "a reply on Discord");
    await new Promise((r) => setTimeout(r, 300));
    const all = dc.posted();
    assert(all.every((p) => p.path === `/api/v10/channels/${DM}/messages`), "stranger got nothing");
    // The adapter told the owner about the file it could not fetch, then the answer came.
    assertStringIncludes(String(all[0].body.content), "Not received: x.png");
    const posts = all.filter((p) => !String(p.body.content).startsWith("Not received"));
    assertEquals(posts.length, 1);
    assertEquals(posts[0].body.content, "Hello @\u200beveryone, **done**.");
    assertEquals(model.requests.length, 1);
    assertEquals(outsideHits, 0, "the adapter reached a host outside its manifest");
    assertStringIncludes(JSON.stringify(model.requests[0]), "Not received");
  } finally {
    for (const c of closers) await c();
    await gw.close();
    await dc.close();
    await model.close();
  }
});

Deno.test("discord e2e: image into the workspace; only the owner's button press runs the tool", async () => {
  const dc = fakeDiscord();
  const model = fakeChat((n) =>
    n === 0
      ? { text: "Nice image." }
      : n === 1
      ? { calls: [{ name: "write_file", args: { path: "note.txt", content: "hi" } }] }
      : { text: "Written." }
  );
  const gw = await startChannelGateway({
    channel: "discord",
    credentials: { "channel.discord.token": dc.token },
    allowFrom: [OWNER],
    modelUrl: model.baseUrl,
    env: { DISCORD_API_BASE: dc.apiBase },
    config: { tools: { tiers: { write_file: 3 } } },
  });
  const workspace = `${gw.dataDir}/workspace/default`;
  try {
    await waitConnected(gw.gateway, "discord");
    await waitFor(() => dc.sessions() > 0, 20_000, "adapter on the gateway");
    const img = new Uint8Array([1, 2, 3]);
    const url = dc.addFile("cat.png", img);
    dc.dispatch(
      "MESSAGE_CREATE",
      message({
        author: OWNER,
        channel: DM,
        content: "look",
        attachments: [{ filename: "cat.png", size: 3, url, content_type: "image/png" }],
      }),
    );
    await waitFor(() => model.requests.length >= 1, 20_000, "the model saw the image");
    const saved = /inbox\/([\w.-]+)/.exec(JSON.stringify(model.requests[0]))?.[1];
    assert(saved, "the agent was told where the file is");
    await waitFor(() => dc.posted().length >= 1, 20_000, "answer");
    assertEquals([...await Deno.readFile(`${workspace}/inbox/${saved}`)], [...img]);

    dc.dispatch(
      "MESSAGE_CREATE",
      message({
        author: OWNER,
        channel: TEXT,
        guild: GUILD,
        content: `<@${dc.bot.id}> write the note`,
        mentions: [dc.bot.id],
      }),
    );
    const prompts = () => dc.posted().filter((p) => p.body.components);
    await waitFor(() => prompts().length >= 1, 20_000, "approval prompt with buttons");
    const click = (p: ReturnType<typeof prompts>[number], user: string) => {
      const row = (p.body.components as { components: { custom_id: string }[] }[])[0];
      dc.dispatch("INTERACTION_CREATE", {
        id: snowflake(),
        token: "itok",
        type: 3,
        channel_id: TEXT,
        guild_id: GUILD,
        data: { custom_id: row.components[0].custom_id, component_type: 2 },
        member: { user: { id: user, username: "x", discriminator: "0" }, roles: [] },
        application_id: dc.bot.id,
        version: 1,
        entitlements: [],
        app_permissions: "0",
        locale: "en-US",
        authorizing_integration_owners: {},
        channel: { id: TEXT, type: 0 },
        message: {
          id: snowflake(),
          channel_id: TEXT,
          content: "",
          author: { id: dc.bot.id, username: "bot", bot: true, discriminator: "0" },
          timestamp: new Date().toISOString(),
          attachments: [],
          embeds: [],
          mentions: [],
          components: [],
          type: 0,
        },
      });
    };
    click(prompts()[0], "999999999999999999");
    await waitFor(() => prompts().length >= 2, 20_000, "asked again after the stranger's press");
    assertEquals(model.requests.length, 2, "the tool has not run");
    click(prompts()[1], OWNER);
    await waitFor(
      () => dc.posted().some((p) => p.body.content === "Written."),
      20_000,
      "the turn finished after the owner's press",
    );
    assertEquals(await Deno.readTextFile(`${workspace}/note.txt`), "hi");
  } finally {
    await gw.close();
    await dc.close();
    await model.close();
  }
});

Deno.test("discord: a thread follows its parent channel's group mode unless it has its own", async () => {
  const ALL = "666666666666666661";
  const FOLLOWS = "666666666666666662";
  const OWN = "666666666666666663";
  const LATER = "666666666666666664";
  const modes = { [ALL]: "all", [OWN]: "mention" } as const;
  const thread = (id: string) => ({
    id,
    type: 11,
    guild_id: GUILD,
    parent_id: ALL,
    name: `thread ${id}`,
    owner_id: OWNER,
    thread_metadata: { archived: false, auto_archive_duration: 1440, locked: false },
  });
  const t = await startDriver((ctx) => ({
    ...ctx,
    groupMode: (id: string) => configuredGroupMode(modes, id),
  }));
  const { dc, rec } = t;
  try {
    dc.dispatch("GUILD_CREATE", {
      id: GUILD,
      name: "guild",
      owner_id: OWNER,
      roles: [],
      emojis: [],
      features: [],
      members: [],
      channels: [{ id: ALL, type: 0, guild_id: GUILD, name: "general", position: 0 }],
      threads: [thread(FOLLOWS), thread(OWN)],
    });
    // A thread created after start-up arrives as THREAD_CREATE.
    dc.dispatch("THREAD_CREATE", { ...thread(LATER), newly_created: true });
    const chatter = (channel: string) =>
      dc.dispatch(
        "MESSAGE_CREATE",
        message({ author: OWNER, channel, guild: GUILD, content: `chatter in ${channel}` }),
      );
    chatter(OWN);
    chatter(TEXT);
    chatter(FOLLOWS);
    chatter(LATER);
    await waitFor(() => rec.inbound.length >= 2, 10_000, "the threads of the all channel");
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(rec.inbound.map((m) => m.conversationId).sort(), [FOLLOWS, LATER].sort());
  } finally {
    await t.close();
  }
});

Deno.test("discord threadGroupMode: own rule, else the parent channel's, else the default", () => {
  const modes = { P: "all", T: "mention" } as const;
  const ctx = { groupMode: (id: string) => configuredGroupMode(modes, id) };
  assertEquals(threadGroupMode(ctx, "T", "P", undefined), "mention");
  assertEquals(threadGroupMode(ctx, "U", "P", undefined), "all");
  assertEquals(threadGroupMode(ctx, "U", undefined, undefined), "mention");
  assertEquals(threadGroupMode(ctx, "U", "Q", "all"), "all");
  assertEquals(threadGroupMode({}, "U", "P", undefined), "mention");
});
