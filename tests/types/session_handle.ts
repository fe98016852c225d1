/**
 * Compile-time channel isolation, proved by `deno check`: every `// @ts-expect-error` line
 * below must fail to compile, and TS2578 ("unused @ts-expect-error") fails the check if one of
 * them ever starts compiling. tests/types/types_test.ts runs the check.
 *
 * The checks cover the demo-level types (links, keys) and the real message path: the router
 * (`dispatch`, `AgentRuntime.handle`, `Core.handle`), the sessions store, the results a reply is
 * sent on, inbound events, approval prompts and the adapter bridge.
 *
 * This file is never executed.
 */
import type { Channel } from "../../src/config/schema.ts";
import type { InboundEvent, IpcServer } from "../../src/ipc/server.ts";
import { ConversationPrompts, dispatchFromAdapter } from "../../src/gateway/channel_bridge.ts";
import type { Core } from "../../src/gateway/core.ts";
import { dispatch, type DispatchDeps } from "../../src/router/dispatch.ts";
import type { AgentRuntime } from "../../src/router/runtime.ts";
import { sessionId, type SessionStore } from "../../src/sessions/store.ts";
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

// ---- The real message path: router, sessions store, outbound. ----

declare const deps: DispatchDeps;
declare const runtime: AgentRuntime;
declare const core: Core;
declare const sessions: SessionStore;
declare const prompts: ConversationPrompts;
declare const event: InboundEvent;
const web = openSession("webchat", "tab-1");

// The router takes a handle, never loose channel and conversation strings.
dispatch(deps, { handle: tg, sender: "alice", text: "hi" });
runtime.handle({ handle: web, sender: "local", text: "hi" });
core.handle({ handle: openSession("cli", "terminal"), sender: "local", text: "hi" });
// @ts-expect-error a (channel, conversation) pair is not a conversation
dispatch(deps, { channel: "telegram", conversation: "chat-1", sender: "alice", text: "hi" });
// @ts-expect-error nor through the runtime
runtime.handle({ channel: "slack", conversation: "C123", sender: "bob", text: "hi" });
// @ts-expect-error nor through the core (WebChat, `wirken ask`, adapters all enter here)
core.handle({ channel: "cli", conversation: "terminal", sender: "local", text: "hi" });
const forged = { channel: "telegram" as const, conversationId: "x", key: "telegram:x" };
// @ts-expect-error an object literal is not a minted handle, not even at the router
dispatch(deps, { handle: forged, sender: "a", text: "" });

// The result carries the message's own handle, typed by its channel: a reply to a Telegram
// message goes back to Telegram and nowhere else.
async function replies() {
  const r = await dispatch(deps, { handle: tg, sender: "alice", text: "hi" });
  telegramLink.send(r.handle, { text: "ok" });
  server.send(r.handle, { text: "ok" });
  // @ts-expect-error the answer to a Telegram message cannot be sent to Slack
  slackLink.send(r.handle, { text: "leak" });
  // @ts-expect-error nor through the server's Slack link
  server.link("slack").send(r.handle, { text: "leak" });
  const w = await runtime.handle({ handle: web, sender: "local", text: "hi" });
  // @ts-expect-error WebChat (like the terminal) has no adapter: its handle reaches no send path
  server.send(w.handle, { text: "x" });
  // @ts-expect-error nor a chat channel's link
  telegramLink.send(w.handle, { text: "x" });
  const widened: SessionHandle = tg;
  // @ts-expect-error a handle of any source must be narrowed to a channel before sending
  server.send(widened, { text: "x" });
}

// Sessions are opened by handle (keyed on handle.key), never by strings.
sessions.getOrCreate(tg, "default");
sessionId(sl, "default");
// @ts-expect-error the old (agent, channel, conversation) triple is not accepted
sessions.getOrCreate({ agent: "default", channel: "telegram", conversation: "chat-1" });
// @ts-expect-error a session key string is not a handle
sessions.getOrCreate(sessionKey("telegram", "chat-1"), "default");
// @ts-expect-error nor is a bare conversation id
sessionId("chat-1", "default");

// Inbound events from adapters: each one's handle and link share a channel.
if (event.channel === "telegram") {
  event.link.send(event.handle, { text: "ok" });
  // @ts-expect-error a Telegram event's handle cannot go to the Slack link
  slackLink.send(event.handle, { text: "leak" });
}
// @ts-expect-error an event of unknown channel cannot go to a specific link without narrowing
telegramLink.send(event.handle, { text: "leak" });

// Approval prompts and scheduled deliveries are kept per chat handle only.
prompts.remember(tg);
// @ts-expect-error WebChat handles are not chat conversations to prompt in
prompts.remember(web);
// @ts-expect-error the bridge dispatches only chat channels' handles
dispatchFromAdapter(core, { sender: "a", text: "" }, web, prompts);

export { fakeKey, replies, slKey, wrong };
