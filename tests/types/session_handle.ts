/**
 * Compile-time channel isolation, proved by `deno check`: every `// @ts-expect-error` line
 * below must fail to compile, and TS2578 ("unused @ts-expect-error") fails the check if one of
 * them ever starts compiling. tests/types/types_test.ts runs the check.
 *
 * This file is never executed.
 */
import type { Channel } from "../../src/config/schema.ts";
import type { IpcServer } from "../../src/ipc/server.ts";
import {
  type ChannelLink,
  openSession,
  type SessionHandle,
  type SessionKey,
  sessionKey,
} from "../../src/ipc/session.ts";

declare const server: IpcServer;
declare const telegramLink: ChannelLink<"telegram">;
declare const slackLink: ChannelLink<"slack">;

const tg = openSession("telegram", "chat-1");
const sl = openSession("slack", "C123");

// The right channel compiles.
telegramLink.send(tg, { text: "ok" });
slackLink.send(sl, { text: "ok" });
server.send(tg, { text: "ok" });
server.link("telegram").send(tg, { text: "ok" });

// A Telegram handle cannot reach a Slack conversation, however it is passed.
// @ts-expect-error a SessionHandle<"telegram"> is not a SessionHandle<"slack">
slackLink.send(tg, { text: "leak" });
// @ts-expect-error same through the server's per-channel link
server.link("slack").send(tg, { text: "leak" });
// @ts-expect-error typing on the wrong channel
slackLink.typing(tg);
// @ts-expect-error approvals on the wrong channel
slackLink.requestApproval(tg, { toolName: "exec", summary: "", tier: "t", timeoutMs: 1 });
// @ts-expect-error assignment across channels
const wrong: SessionHandle<"slack"> = tg;

// Re-labelling a Telegram handle as Slack does not work either: its key and brand still say
// telegram.
// @ts-expect-error spread with another channel
slackLink.send({ ...tg, channel: "slack" as const }, { text: "leak" });

// Nothing but a minted handle is accepted: no object literals, no bare ids.
// @ts-expect-error an object literal lacks the private brand
telegramLink.send({ channel: "telegram", conversationId: "x", key: "telegram:x" }, { text: "" });
// @ts-expect-error a conversation id string is not a handle
server.send("chat-1", { text: "x" });
// @ts-expect-error the send path requires a handle: no (channel, conversation) overload
server.send("telegram", "chat-1", { text: "x" });

// Session keys carry their channel too.
const tgKey: SessionKey<"telegram"> = sessionKey("telegram", "chat-1");
// @ts-expect-error a Telegram key is not a Slack key
const slKey: SessionKey<"slack"> = tgKey;
// @ts-expect-error a plain string is not a session key
const fakeKey: SessionKey<"telegram"> = "telegram:chat-1";

// Channel ids outside the union do not make handles.
// @ts-expect-error "irc" is not a Channel
openSession("irc", "x");

// A handle of the widened type cannot go to a specific channel's link without narrowing.
declare const any: SessionHandle<Channel>;
// @ts-expect-error SessionHandle<Channel> may be any channel
telegramLink.send(any, { text: "" });
if (any.channel === "telegram") {
  // Narrowing the channel field alone does not narrow the handle's type parameter either.
  // @ts-expect-error still SessionHandle<Channel>
  telegramLink.send(any, { text: "" });
}

export { fakeKey, slKey, wrong };
