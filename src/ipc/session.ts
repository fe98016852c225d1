/**
 * Compile-time channel isolation. A {@linkcode SessionHandle} names one conversation on one
 * channel, and its type carries the channel: code holding a `SessionHandle<"telegram">` cannot
 * pass it where a `SessionHandle<"slack">` is wanted, and the outbound send path
 * ({@linkcode ChannelLink.send}, `IpcServer.send`) accepts nothing but a handle, so "reply on
 * the wrong channel" does not compile. `tests/types/session_handle.ts` proves it with
 * `// @ts-expect-error` lines checked by `deno check`.
 *
 * Handles are minted by the IPC server from authenticated inbound frames (channel stamped from
 * the connection) and by {@linkcode openSession} for gateway-initiated messages and the local
 * sources (WebChat, `wirken ask`). The brand is a module-private symbol, so an object literal can
 * never pass for a handle.
 *
 * The handle is what the rest of the message path runs on: the router takes one per message
 * (`Inbound.handle`) and hands it back with its result, the sessions store keys conversations on
 * `handle.key`, and replies go out only through a handle of the adapter's own channel. Local
 * sources have handles too (so their sessions are keyed the same way) but no adapter, so their
 * handles are refused by every send path at compile time.
 *
 * @module
 */
import { type Channel, CHANNELS } from "../config/channels.ts";
import type { Attachment } from "./codec.ts";

declare const handleBrand: unique symbol;
declare const keyBrand: unique symbol;

/** Sources with no adapter: authenticated before they reach the router (no allow-list). */
export const LOCAL_SOURCES = ["webchat", "cli"] as const;

/** Where a message can come from: a chat channel (an adapter) or a local source. */
export type Source = Channel | typeof LOCAL_SOURCES[number];

/** True when `s` names a chat channel or a local source. */
export function isSource(s: string): s is Source {
  return (CHANNELS as readonly string[]).includes(s) ||
    (LOCAL_SOURCES as readonly string[]).includes(s);
}

/** A session key: `<channel>:<conversation>` (the agent is appended by the sessions store). */
export type SessionKey<C extends Source = Source> = string & { readonly [keyBrand]: C };

/** One conversation on channel `C`. */
export interface SessionHandle<C extends Source = Source> {
  readonly channel: C;
  readonly conversationId: string;
  /** Includes the channel, so two channels' conversation ids can never collide. */
  readonly key: SessionKey<C>;
  readonly [handleBrand]: C;
}

/**
 * The unbranded form of {@linkcode sessionKey}, for code that matches stored session ids
 * against a conversation it was told about (approval answers) rather than minting a handle.
 */
export function conversationKey(channel: string, conversationId: string): string {
  // encodeURIComponent keeps ':' in ids from forging another channel's prefix.
  return `${channel}:${encodeURIComponent(conversationId)}`;
}

/** Builds the session key of a conversation; the channel is part of it. */
export function sessionKey<C extends Source>(channel: C, conversationId: string): SessionKey<C> {
  return conversationKey(channel, conversationId) as SessionKey<C>;
}

/** The handle of `conversationId` on `channel`. */
export function openSession<C extends Source>(
  channel: C,
  conversationId: string,
): SessionHandle<C> {
  // The type keeps callers honest; this keeps a string cast from the outside (a database row)
  // from minting a handle for a channel that does not exist.
  if (!isSource(channel)) throw new TypeError(`no channel ${channel}`);
  if (conversationId.length === 0) throw new TypeError("a session needs a conversation id");
  return Object.freeze({
    channel,
    conversationId,
    key: sessionKey(channel, conversationId),
  }) as SessionHandle<C>;
}

/** What the gateway asks an adapter to send. */
export interface OutboundMessage {
  text: string;
  /** Platform message id to reply to. */
  replyToId?: string;
  /** Edit this earlier message instead of sending a new one (streaming). */
  editId?: string;
  /** Files to send with the message (inline bytes; the adapter uploads them). */
  attachments?: Attachment[];
}

/** What the adapter reports back for one outbound message. */
export interface OutboundResult {
  ok: boolean;
  /** The platform's id of the sent (or edited) message. */
  messageId: string;
  error: string;
}

/** A human's answer to an approval request. */
export interface ApprovalAnswer {
  approved: boolean;
  /** Platform sender id of who answered. */
  decidedBy: string;
}

/** An approval request to show in a conversation. */
export interface ApprovalPrompt {
  toolName: string;
  summary: string;
  tier: string;
  /** How long to wait for an answer. */
  timeoutMs: number;
}

/**
 * The outbound side of one channel. Every method takes a handle of the same channel, so a
 * `ChannelLink<"slack">` cannot be handed a Telegram conversation.
 */
export interface ChannelLink<C extends Channel> {
  readonly channel: C;
  /** Sends (or edits) a message; rejects if the adapter is not connected or times out. */
  send(handle: SessionHandle<C>, message: OutboundMessage): Promise<OutboundResult>;
  /** Shows "typing..." in the conversation. */
  typing(handle: SessionHandle<C>): Promise<void>;
  /** Asks a human in the conversation to approve a tool call. */
  requestApproval(handle: SessionHandle<C>, prompt: ApprovalPrompt): Promise<ApprovalAnswer>;
}
