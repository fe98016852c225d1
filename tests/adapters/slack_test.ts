/**
 * The Slack adapter (real @slack/bolt in Socket Mode) against a fake Web API + Socket Mode
 * WebSocket: inbound rules, mrkdwn escaping (`<!channel>` neutralised), splitting, threads,
 * files, Block Kit approvals, 429 and socket loss; then the real gateway end to end.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { createSlackDriver } from "../../adapters/slack/main.ts";
import { toSlack } from "../../adapters/slack/format.ts";
import { fakeSlack, slackMessage, slackTs } from "../fakes/slack.ts";
import { fakeChat } from "../fakes/openai_chat.ts";
import { startChannelGateway, startDriverFixture, waitConnected, waitFor } from "./helpers.ts";

const OWNER = "UOWNER01";
const DM = "D0000001";
const CHAN = "C0000001";

async function startDriver() {
  const sl = fakeSlack();
  const t = await startDriverFixture({
    channel: "slack",
    fake: sl,
    env: { SLACK_API_URL: sl.apiUrl },
    createDriver: createSlackDriver,
    credentials: {
      "channel.slack.bot_token": sl.botToken,
      "channel.slack.app_token": sl.appToken,
    },
    async ready() {
      await waitFor(() => sl.sockets() > 0, 15_000, "socket mode connected");
      await new Promise((r) => setTimeout(r, 100));
    },
  });
  return { ...t, sl };
}

Deno.test("slack format: control sequences neutralised, markup converted", () => {
  assertEquals(
    toSlack("<!channel> hi <@U123> & **bold** _it_ ~~s~~ `<!here>` [x](https://e.com/a|b)"),
    "&lt;!channel&gt; hi &lt;@U123&gt; &amp; *bold* _it_ ~s~ `&lt;!here&gt;` <https://e.com/a%7Cb|x>",
  );
  assertEquals(toSlack("[x](javascript:alert(1))"), "[x](javascript:alert(1))");
});

Deno.test("slack: DMs forwarded; channel messages only when mentioned or in the bot's thread", async () => {
  const t = await startDriver();
  try {
    t.sl.event(slackMessage({ user: OWNER, channel: DM, text: "hello" }));
    await waitFor(() => t.rec.inbound.length === 1, 10_000, "dm");
    assertEquals([t.rec.inbound[0].conversationId, t.rec.inbound[0].senderId], [DM, OWNER]);
    t.sl.event(
      slackMessage({ user: OWNER, channel: CHAN, text: "chatter", channelType: "channel" }),
    );
    const asked = slackMessage({
      user: OWNER,
      channel: CHAN,
      text: `<@${t.sl.botUser}> deploy?`,
      channelType: "channel",
    });
    t.sl.event(asked);
    await waitFor(() => t.rec.inbound.length === 2, 10_000, "mention");
    assertEquals(t.rec.inbound[1].text, "deploy?");
    assertEquals(t.rec.inbound[1].conversationId, `${CHAN}/${asked.ts}`, "the thread");
    t.sl.event(slackMessage({
      user: OWNER,
      channel: CHAN,
      text: "and then?",
      channelType: "channel",
      threadTs: String(asked.ts),
      parentUser: t.sl.botUser,
    }));
    await waitFor(() => t.rec.inbound.length === 3, 10_000, "thread reply");
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(t.rec.inbound.length, 3, "chatter ignored");
    assert(t.sl.acked().length >= 4, "every envelope acknowledged");
  } finally {
    await t.close();
  }
});

Deno.test("slack: threaded, split answers; 429 retried; a dropped socket reconnects", async () => {
  const t = await startDriver();
  try {
    t.sl.fail("chat.postMessage", 429, 1, 1);
    const long = Array.from({ length: 200 }, (_, i) => `<!channel> item ${i} ${"x".repeat(40)}`)
      .join("\n\n");
    const r = await t.out({ conversationId: `${CHAN}/1700000000.000100`, text: long });
    assert(r.ok, r.error);
    assertEquals(t.sl.calls.filter((c) => c.method === "chat.postMessage!429").length, 1);
    const posts = t.sl.sent("chat.postMessage");
    assert(posts.length >= 3, `${posts.length}`);
    for (const p of posts) {
      assertEquals([p.args.channel, p.args.thread_ts], [CHAN, "1700000000.000100"]);
      assert(String(p.args.text).length <= 4000);
      assert(!String(p.args.text).includes("<!channel>"));
    }
    const before = t.sl.connections();
    t.sl.dropSockets();
    await waitFor(() => t.sl.connections() > before && t.sl.sockets() > 0, 20_000, "reconnect");
    await new Promise((r) => setTimeout(r, 200));
    t.sl.event(slackMessage({ user: OWNER, channel: DM, text: "back" }));
    await waitFor(() => t.rec.inbound.length === 1, 10_000, "message after reconnect");
  } finally {
    await t.close();
  }
});

Deno.test("slack: files with the bot token from Slack hosts only; Block Kit approvals", async () => {
  const t = await startDriver();
  try {
    const bytes = new Uint8Array([7, 7, 7]);
    const url = t.sl.addFile("a.png", bytes);
    t.sl.event(slackMessage({
      user: OWNER,
      channel: DM,
      text: "pic",
      files: [
        { id: "F1", name: "a.png", mimetype: "image/png", size: 3, url_private_download: url },
        { id: "F2", name: "evil.png", size: 3, url_private_download: "https://evil.example/x" },
      ],
    }));
    await waitFor(() => t.rec.inbound.length === 1, 10_000, "file message");
    const a = t.rec.inbound[0].attachments ?? [];
    assertEquals(a.map((x) => [x.name, [...x.data]]), [["a.png", [7, 7, 7]]]);

    const answer = t.driver.onApprovalRequest!({
      type: "approvalRequest",
      requestId: "q",
      conversationId: DM,
      toolName: "exec",
      summary: "Run it? <!channel>",
      tier: "3",
      expiresAtMs: Date.now() + 30_000,
    });
    await waitFor(() => t.sl.sent("chat.postMessage").some((c) => c.args.blocks), 10_000);
    const prompt = t.sl.sent("chat.postMessage").find((c) => c.args.blocks)!;
    assertStringIncludes(String(prompt.args.text), "&lt;!channel&gt;");
    const actions =
      (prompt.args.blocks as { elements?: { action_id: string; value: string }[] }[])[1].elements!;
    const press = (i: number, user: string, channel: string) =>
      t.sl.interactive({
        type: "block_actions",
        user: { id: user },
        channel: { id: channel },
        message: { ts: slackTs() },
        actions: [{ action_id: actions[i].action_id, value: actions[i].value }],
      });
    press(0, "UOTHER01", "D0000009");
    press(0, OWNER, DM);
    assertEquals(await answer, { approved: true, decidedBy: OWNER });
    await waitFor(() => t.sl.sent("chat.update").length >= 1, 10_000, "prompt closed");
  } finally {
    await t.close();
  }
});

Deno.test("slack e2e: supervisor-run adapter -> router -> fake model -> Web API; strangers get nothing", async () => {
  const sl = fakeSlack();
  const model = fakeChat(() => ({ text: "Sure <!everyone>, **done**." }));
  const gw = await startChannelGateway({
    channel: "slack",
    credentials: {
      "channel.slack.bot_token": sl.botToken,
      "channel.slack.app_token": sl.appToken,
    },
    allowFrom: [OWNER],
    modelUrl: model.baseUrl,
    env: { SLACK_API_URL: sl.apiUrl },
  });
  try {
    await waitConnected(gw.gateway, "slack");
    await waitFor(() => sl.sockets() > 0, 20_000, "adapter on Socket Mode");
    await new Promise((r) => setTimeout(r, 200));
    sl.event(slackMessage({ user: "USTRANGE", channel: "D0000002", text: "let me in" }));
    sl.event(slackMessage({ user: OWNER, channel: DM, text: "hello" }));
    await waitFor(() => sl.sent("chat.postMessage").length >= 1, 20_000, "a reply on Slack");
    await new Promise((r) => setTimeout(r, 300));
    const posts = sl.sent("chat.postMessage");
    assertEquals(posts.length, 1, "the stranger got nothing");
    assertEquals(posts[0].args.channel, DM);
    assertEquals(posts[0].args.text, "Sure &lt;!everyone&gt;, *done*.");
    assertEquals(model.requests.length, 1);
  } finally {
    await gw.close();
    await sl.close();
    await model.close();
  }
});

Deno.test("slack e2e: file into the workspace; only the owner's Block Kit press runs the tool", async () => {
  const sl = fakeSlack();
  const model = fakeChat((n) =>
    n === 0
      ? { text: "Got the file." }
      : n === 1
      ? { calls: [{ name: "write_file", args: { path: "note.txt", content: "hi" } }] }
      : { text: "Written." }
  );
  const gw = await startChannelGateway({
    channel: "slack",
    credentials: {
      "channel.slack.bot_token": sl.botToken,
      "channel.slack.app_token": sl.appToken,
    },
    allowFrom: [OWNER],
    modelUrl: model.baseUrl,
    env: { SLACK_API_URL: sl.apiUrl },
    config: { tools: { tiers: { write_file: 3 } } },
  });
  const workspace = `${gw.dataDir}/workspace/default`;
  try {
    await waitConnected(gw.gateway, "slack");
    await waitFor(() => sl.sockets() > 0, 20_000, "adapter on Socket Mode");
    await new Promise((r) => setTimeout(r, 200));
    const bytes = new Uint8Array([4, 5, 6]);
    const url = sl.addFile("doc.pdf", bytes);
    sl.event(slackMessage({
      user: OWNER,
      channel: DM,
      text: "read this",
      files: [{
        id: "F9",
        name: "doc.pdf",
        mimetype: "application/pdf",
        size: 3,
        url_private_download: url,
      }],
    }));
    await waitFor(() => model.requests.length >= 1, 20_000, "the model saw the file");
    const saved = /inbox\/([\w.-]+)/.exec(JSON.stringify(model.requests[0]))?.[1];
    assert(saved, "the agent was told where the file is");
    assertEquals([...await Deno.readFile(`${workspace}/inbox/${saved}`)], [...bytes]);

    const asked = slackMessage({
      user: OWNER,
      channel: CHAN,
      text: `<@${sl.botUser}> write the note`,
      channelType: "channel",
    });
    sl.event(asked);
    const prompts = () => sl.sent("chat.postMessage").filter((c) => c.args.blocks);
    await waitFor(() => prompts().length >= 1, 20_000, "approval prompt with buttons");
    const press = (p: ReturnType<typeof prompts>[number], user: string) => {
      const el = (p.args.blocks as { elements?: { action_id: string; value: string }[] }[])[1]
        .elements![0];
      sl.interactive({
        type: "block_actions",
        user: { id: user },
        channel: { id: CHAN },
        message: { ts: slackTs(), thread_ts: String(asked.ts) },
        actions: [{ action_id: el.action_id, value: el.value }],
      });
    };
    press(prompts()[0], "USTRANGE");
    await waitFor(() => prompts().length >= 2, 20_000, "asked again after the stranger's press");
    assertEquals(model.requests.length, 2, "the tool has not run");
    press(prompts()[1], OWNER);
    await waitFor(
      () => sl.sent("chat.postMessage").some((c) => c.args.text === "Written."),
      20_000,
      "the turn finished after the owner's press",
    );
    assertEquals(await Deno.readTextFile(`${workspace}/note.txt`), "hi");
  } finally {
    await gw.close();
    await sl.close();
    await model.close();
  }
});
