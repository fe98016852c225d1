/**
 * The Telegram adapter (real grammy) against a fake Bot API: in-process driver tests for
 * inbound rules, formatting, splitting, files, approvals, 429 and connection loss; then the
 * real gateway, supervisor and adapter process end to end with a scripted fake model.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { createTelegramDriver } from "../../adapters/telegram/main.ts";
import { dm, fakeTelegram, groupMessage } from "../fakes/telegram.ts";
import { fakeChat } from "../fakes/openai_chat.ts";
import { startChannelGateway, startDriverFixture, waitConnected, waitFor } from "./helpers.ts";
import { openAuditLog } from "../../src/audit/log.ts";

const OWNER = 4242;

async function startDriver() {
  const tg = fakeTelegram();
  const t = await startDriverFixture({
    channel: "telegram",
    fake: tg,
    env: { TELEGRAM_API_ROOT: tg.url },
    createDriver: createTelegramDriver,
    credentials: { "channel.telegram.token": tg.token },
    ready: () => waitFor(() => tg.polls() > 0, 15_000, "grammy polling"),
  });
  return { ...t, tg };
}

Deno.test("telegram: DMs are forwarded; groups only when mentioned or replied to", async () => {
  const t = await startDriver();
  try {
    t.tg.push(dm(OWNER, "hello bot"));
    await waitFor(() => t.rec.inbound.length === 1, 10_000, "dm forwarded");
    const m = t.rec.inbound[0];
    assertEquals([m.senderId, m.conversationId, m.text, m.isGroup], [
      String(OWNER),
      String(OWNER),
      "hello bot",
      false,
    ]);
    t.tg.push(groupMessage(-1001, OWNER, "just chatting"));
    t.tg.push(groupMessage(-1001, OWNER, "what time is it?", { mention: t.tg.bot.username }));
    await waitFor(() => t.rec.inbound.length === 2, 10_000, "mention forwarded");
    assertEquals(t.rec.inbound[1].text, "what time is it?", "mention stripped");
    assertEquals(t.rec.inbound[1].isGroup, true);
    t.tg.push(groupMessage(-1001, OWNER, "and now?", { replyTo: { id: 1, from: t.tg.bot.id } }));
    await waitFor(() => t.rec.inbound.length === 3, 10_000, "reply forwarded");
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(t.rec.inbound.length, 3, "the unaddressed group message was ignored");
    assertEquals(t.tg.sent("sendChatAction").length, 0, "no typing before the gateway accepts");
    t.driver.onTyping!(String(OWNER));
    await waitFor(() => t.tg.sent("sendChatAction").length === 1, 5000, "typing shown");
    await t.out({ conversationId: String(OWNER), text: "done" });
  } finally {
    await t.close();
  }
});

Deno.test("telegram: answers are escaped HTML, split at 4096, threaded to the question", async () => {
  const t = await startDriver();
  try {
    const nasty = "<b>not bold</b> & <script>x</script> **real bold** `a<b` _it_ **unclosed";
    let r = await t.out({ conversationId: "42", text: nasty, replyToId: "17" });
    assert(r.ok, r.error);
    const first = t.tg.sent("sendMessage")[0].params;
    assertEquals(first.parse_mode, "HTML");
    assertEquals(
      first.text,
      "&lt;b&gt;not bold&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt; <b>real bold</b> " +
        "<code>a&lt;b</code> <i>it</i> **unclosed",
    );
    assertEquals((first.reply_parameters as { message_id: number }).message_id, 17);
    const long = Array.from({ length: 300 }, (_, i) => `Paragraph ${i} ${"😀".repeat(20)}.`)
      .join("\n\n") + "\n\n```ts\n" + "const x = 1 < 2;\n".repeat(400) + "```";
    r = await t.out({ conversationId: "42", text: long });
    assert(r.ok, r.error);
    const parts = t.tg.sent("sendMessage").slice(1).map((c) => String(c.params.text));
    assert(parts.length >= 3, `split into ${parts.length}`);
    for (const p of parts) {
      assert(p.length <= 4096, `part of ${p.length}`);
      assertEquals(p.split("<pre>").length, p.split("</pre>").length, "balanced pre");
      assertEquals(p.split("<code").length, p.split("</code>").length, "balanced code");
    }
    // Edits (streaming) change one message.
    r = await t.out({ conversationId: "42", text: "edited", editId: "5000" });
    assertEquals(r.messageId, "5000");
    assertEquals(t.tg.sent("editMessageText")[0].params.text, "edited");
  } finally {
    await t.close();
  }
});

Deno.test("telegram: 429 is retried after retry_after; a dropped connection reconnects", async () => {
  const t = await startDriver();
  try {
    t.tg.fail("sendMessage", 429, 1, 1);
    const started = Date.now();
    const r = await t.out({ conversationId: "42", text: "after the limit" });
    assert(r.ok, r.error);
    assert(Date.now() - started >= 900, "waited retry_after");
    assertEquals(t.tg.calls.filter((c) => c.method === "sendMessage!429").length, 1);
    assertEquals(t.tg.sent("sendMessage").length, 1);
    await t.tg.drop(500);
    t.tg.push(dm(OWNER, "still there?"));
    await waitFor(() => t.rec.inbound.length === 1, 15_000, "message after reconnect");
  } finally {
    await t.close();
  }
});

Deno.test("telegram: photos arrive inline; oversized files are refused with a notice", async () => {
  const t = await startDriver();
  try {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4]);
    t.tg.addFile("ph1", png);
    t.tg.push(dm(OWNER, "", {
      text: undefined,
      caption: "look",
      photo: [{ file_id: "ph1", file_unique_id: "u", width: 1, height: 1, file_size: png.length }],
    }));
    await waitFor(() => t.rec.inbound.length === 1, 10_000, "photo forwarded");
    const a = t.rec.inbound[0].attachments ?? [];
    assertEquals(a.length, 1);
    assertEquals([...a[0].data], [...png]);
    assertEquals(a[0].url, "", "the token-bearing file URL is never forwarded");
    // Declares 100 MB: not even downloaded. Declares little but sends 9 MB: cut off.
    t.tg.push(dm(OWNER, "", {
      text: undefined,
      caption: "big",
      document: { file_id: "big", file_unique_id: "b", file_name: "big.iso", file_size: 1e8 },
    }));
    t.tg.addFile("liar", new Uint8Array(9 * 1024 * 1024), 10);
    t.tg.push(dm(OWNER, "", {
      text: undefined,
      caption: "liar",
      document: { file_id: "liar", file_unique_id: "l", file_name: "x.bin", file_size: 10 },
    }));
    await waitFor(() => t.rec.inbound.length === 3, 10_000, "captions forwarded");
    for (const m of t.rec.inbound.slice(1)) {
      assertEquals(m.attachments?.length ?? 0, 0);
      assertStringIncludes(m.metadata?.attachmentsSkipped ?? "", "limit");
    }
    const notices = t.tg.sent("sendMessage").map((c) => String(c.params.text));
    assert(notices.some((n) => n.includes("Not received: big.iso")), notices.join("|"));
  } finally {
    await t.close();
  }
});

Deno.test("telegram: approval buttons resolve with the presser's id; stale presses do nothing", async () => {
  const t = await startDriver();
  try {
    const answer = t.driver.onApprovalRequest!({
      type: "approvalRequest",
      requestId: "q1",
      conversationId: String(OWNER),
      toolName: "exec",
      summary: "Run `rm -rf /tmp/x`? <b>",
      tier: "3",
      expiresAtMs: Date.now() + 30_000,
    });
    await waitFor(() => t.tg.sent("sendMessage").length === 1, 10_000, "prompt shown");
    const prompt = t.tg.sent("sendMessage")[0].params;
    assertStringIncludes(String(prompt.text), "&lt;b&gt;");
    const keyboard = (prompt.reply_markup as {
      inline_keyboard: { text: string; callback_data: string }[][];
    }).inline_keyboard[0];
    assertEquals(keyboard.map((b) => b.text), ["Approve", "Deny"]);
    const press = (data: string, chat: number, from: number) =>
      t.tg.push({
        callback_query: {
          id: crypto.randomUUID(),
          from: { id: from, is_bot: false, first_name: "x" },
          chat_instance: "c",
          data,
          message: { message_id: 5000, date: 0, chat: { id: chat, type: "private" } },
        },
      });
    press("wk1:a:forgedtoken123", OWNER, OWNER);
    press(keyboard[0].callback_data, 999, 999); // same button, other chat: not this prompt
    press(keyboard[0].callback_data, OWNER, OWNER);
    const result = await answer;
    assertEquals(result, { approved: true, decidedBy: String(OWNER) });
    const answers = t.tg.sent("answerCallbackQuery").map((c) => String(c.params.text));
    assertEquals(answers.filter((a) => a.includes("no longer open")).length, 2);
  } finally {
    await t.close();
  }
});

Deno.test("telegram e2e: supervisor-run adapter -> router -> fake model -> Bot API; strangers get nothing", async () => {
  const tg = fakeTelegram();
  const long = Array.from({ length: 120 }, (_, i) => `**Line ${i}** of a long answer.`)
    .join("\n\n") + "\n\n" + "x".repeat(3000);
  const model = fakeChat((n) => ({ text: n === 0 ? "Hi <there> & **welcome**" : long }));
  const gw = await startChannelGateway({
    channel: "telegram",
    credentials: { "channel.telegram.token": tg.token },
    allowFrom: [String(OWNER)],
    modelUrl: model.baseUrl,
    env: { TELEGRAM_API_ROOT: tg.url },
  });
  try {
    await waitConnected(gw.gateway, "telegram");
    await waitFor(() => tg.polls() > 0, 20_000, "adapter polling the fake");
    tg.push(dm(31337, "let me in, I claim to be on slack"));
    tg.push(groupMessage(-100, OWNER, "not for the bot"));
    tg.push(dm(OWNER, "hello"));
    await waitFor(() => tg.sent("sendMessage").length >= 1, 20_000, "a reply on Telegram");
    const reply = tg.sent("sendMessage")[0].params;
    assertEquals(reply.chat_id, String(OWNER));
    assertEquals(reply.text, "Hi &lt;there&gt; &amp; <b>welcome</b>");
    tg.push(dm(OWNER, "tell me more"));
    await waitFor(() => tg.sent("sendMessage").length >= 3, 20_000, "a split answer");
    await new Promise((r) => setTimeout(r, 300));
    const all = tg.sent("sendMessage");
    assert(all.every((c) => c.params.chat_id === String(OWNER)), "the stranger got nothing");
    assert(all.slice(1).every((c) => String(c.params.text).length <= 4096));
    assertEquals(model.requests.length, 2, "only the owner's two DMs reached the model");
    assert(!JSON.stringify(model.requests).includes("let me in"));
    assert(!JSON.stringify(model.requests).includes("not for the bot"));
    const typing = tg.sent("sendChatAction");
    assert(typing.length >= 1, "typing shown while the agent worked");
    assert(typing.every((c) => c.params.chat_id === String(OWNER)), "no typing for the stranger");
  } finally {
    await gw.close();
    await tg.close();
    await model.close();
  }
});

Deno.test("telegram e2e: photo saved in the workspace; approval buttons work only for the owner; strangers audited", async () => {
  const tg = fakeTelegram();
  const model = fakeChat((n) =>
    n === 0
      ? { text: "A picture." }
      : n === 1
      ? { calls: [{ name: "write_file", args: { path: "note.txt", content: "hi" } }] }
      : { text: "Written." }
  );
  const gw = await startChannelGateway({
    channel: "telegram",
    credentials: { "channel.telegram.token": tg.token },
    allowFrom: [String(OWNER)],
    modelUrl: model.baseUrl,
    env: { TELEGRAM_API_ROOT: tg.url },
    config: { tools: { tiers: { write_file: 3 } } },
  });
  const workspace = `${gw.dataDir}/workspace/default`;
  try {
    await waitConnected(gw.gateway, "telegram");
    await waitFor(() => tg.polls() > 0, 20_000, "adapter polling the fake");
    tg.push(dm(31337, "hi, stranger here"));
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 9, 9]);
    tg.addFile("photo1", png);
    tg.push(dm(OWNER, "", {
      text: undefined,
      caption: "what is this?",
      photo: [{ file_id: "photo1", file_unique_id: "p", width: 1, height: 1, file_size: 6 }],
    }));
    await waitFor(() => tg.sent("sendMessage").length >= 1, 20_000, "answer to the photo");
    const seen = JSON.stringify(model.requests[0]);
    assertStringIncludes(seen, "what is this?");
    const saved = /inbox\/([\w.-]+)/.exec(seen)?.[1];
    assert(saved, "the agent was told where the file is");
    assertEquals([...await Deno.readFile(`${workspace}/inbox/${saved}`)], [...png]);

    // A tool call that needs approval, asked in a group.
    tg.push(groupMessage(-1001, OWNER, "write the note", { mention: tg.bot.username }));
    const prompts = () => tg.sent("sendMessage").filter((c) => c.params.reply_markup);
    await waitFor(() => prompts().length >= 1, 20_000, "approval prompt with buttons");
    type Markup = { inline_keyboard: { callback_data: string }[][] };
    const press = (call: typeof prompts extends () => (infer C)[] ? C : never, from: number) =>
      tg.push({
        callback_query: {
          id: crypto.randomUUID(),
          from: { id: from, is_bot: false, first_name: "x" },
          chat_instance: "c",
          data: (call.params.reply_markup as Markup).inline_keyboard[0][0].callback_data,
          message: { message_id: 1, date: 0, chat: { id: -1001, type: "supergroup" } },
        },
      });
    press(prompts()[0], 31337);
    await waitFor(() => prompts().length >= 2, 20_000, "asked again after the stranger's press");
    assert(
      tg.sent("sendMessage").some((c) => String(c.params.text).includes("Only the owner")),
      "the stranger was told",
    );
    assertEquals(model.requests.length, 2, "the tool has not run");
    press(prompts()[1], OWNER);
    await waitFor(
      () => tg.sent("sendMessage").some((c) => c.params.text === "Written."),
      20_000,
      "the turn finished after the owner's press",
    );
    assertEquals(await Deno.readTextFile(`${workspace}/note.txt`), "hi");
    // The stranger's DM and button press are both in the audit log.
    const log = openAuditLog(`${gw.dataDir}/audit.db`);
    try {
      const failures = log.query({}).filter((e) => e.kind === "auth.failure");
      const reasons = failures.filter((e) => e.actor === "31337").map((e) => e.payload.reason);
      assert(reasons.includes("sender is not on the channel's allow-list"), String(reasons));
      assert(reasons.includes("approval by a non-owner"), String(reasons));
    } finally {
      log.close();
    }
  } catch (e) {
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        JSON.stringify(tg.calls).slice(0, 3000) + "\n" +
          JSON.stringify(model.requests).slice(0, 3000) + "\n",
      ),
    );
    for await (const f of Deno.readDir(`${gw.dataDir}/logs`)) {
      Deno.stderr.writeSync(
        new TextEncoder().encode(
          (await Deno.readTextFile(`${gw.dataDir}/logs/${f.name}`)).slice(-6000),
        ),
      );
    }
    throw e;
  } finally {
    await gw.close();
    await tg.close();
    await model.close();
  }
});

Deno.test("telegram e2e: the agent sends a workspace file back (send_file, approved by the owner)", async () => {
  const tg = fakeTelegram();
  const model = fakeChat((n) =>
    n === 0
      ? { calls: [{ name: "send_file", args: { path: "report.txt" } }] }
      : { text: "Here it is." }
  );
  const gw = await startChannelGateway({
    channel: "telegram",
    credentials: { "channel.telegram.token": tg.token },
    allowFrom: [String(OWNER)],
    modelUrl: model.baseUrl,
    env: { TELEGRAM_API_ROOT: tg.url },
  });
  try {
    await Deno.mkdir(`${gw.dataDir}/workspace/default`, { recursive: true });
    await Deno.writeTextFile(`${gw.dataDir}/workspace/default/report.txt`, "quarterly numbers");
    await waitConnected(gw.gateway, "telegram");
    await waitFor(() => tg.polls() > 0, 20_000, "adapter polling the fake");
    tg.push(dm(OWNER, "send me the report"));
    const prompt = () => tg.sent("sendMessage").find((c) => c.params.reply_markup);
    await waitFor(() => prompt() !== undefined, 20_000, "approval prompt");
    const data = (prompt()!.params.reply_markup as {
      inline_keyboard: { callback_data: string }[][];
    }).inline_keyboard[0][0].callback_data;
    tg.push({
      callback_query: {
        id: "cb1",
        from: { id: OWNER, is_bot: false, first_name: "o" },
        chat_instance: "c",
        data,
        message: { message_id: 1, date: 0, chat: { id: OWNER, type: "private" } },
      },
    });
    await waitFor(() => tg.sent("sendDocument").length === 1, 20_000, "the file on Telegram");
    const doc = tg.sent("sendDocument")[0].params;
    assertEquals(doc.chat_id, String(OWNER));
    // grammy uploads as multipart: `document` is "attach://<id>", the file is the part <id>.
    const part = String(doc.document).replace("attach://", "");
    assertEquals(doc[part], { fileName: "report.txt", size: 17 });
    assert(tg.sent("sendMessage").some((c) => c.params.text === "Here it is."));
  } finally {
    await gw.close();
    await tg.close();
    await model.close();
  }
});

Deno.test("telegram e2e: a slow answer streams into one message edited at a bounded rate", async () => {
  const tg = fakeTelegram();
  const answer = "The **answer** comes slowly, " + "word by word ".repeat(20) + "and ends here.";
  const model = fakeChat(() => ({ text: answer, delayMs: 900 }));
  const gw = await startChannelGateway({
    channel: "telegram",
    credentials: { "channel.telegram.token": tg.token },
    allowFrom: [String(OWNER)],
    modelUrl: model.baseUrl,
    env: { TELEGRAM_API_ROOT: tg.url },
  });
  try {
    await waitConnected(gw.gateway, "telegram");
    await waitFor(() => tg.polls() > 0, 20_000, "adapter polling the fake");
    tg.push(dm(OWNER, "take your time"));
    await waitFor(
      () => tg.sent("editMessageText").some((c) => String(c.params.text).endsWith("ends here.")),
      20_000,
      "the final edit",
    );
    const sends = tg.sent("sendMessage");
    assertEquals(sends.length, 1, "one message, edited");
    assert(String(sends[0].params.text).endsWith(" …"), "the first send is a preview");
    const edits = tg.sent("editMessageText");
    assert(edits.every((e) => String(e.params.message_id) === "5000"));
    assertStringIncludes(String(edits.at(-1)!.params.text), "The <b>answer</b> comes slowly");
    for (let i = 1; i < edits.length; i++) {
      assert(edits[i].at - edits[i - 1].at >= 900, "edits are rate bounded");
    }
  } finally {
    await gw.close();
    await tg.close();
    await model.close();
  }
});
