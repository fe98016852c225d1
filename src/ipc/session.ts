/**
 * Compile-time channel isolation. A {@linkcode SessionHandle} names one conversation on one
 * channel, and its type carries the channel: code holding a `SessionHandle<"telegram">` cannot
 * pass it where a `SessionHandle<"slack">` is wanted, and the outbound send path
 * ({@linkcode ChannelLink.send}, `IpcServer.send`) accepts nothing but a handle, so "reply on
 * the wrong channel" does not compile. `tests/types/session_handle.ts` proves it with
 * `// @ts-expect-error` lines checked by `deno check`.
 *
 * Handles are minted by the IPC server from authenticated inbound frames (channel stamped from
 * the connection) and by {@linkcode openSession} for gateway-initiated messages. The brand is a
 * module-private symbol, so an object literal can never pass for a handle.
 *
 * @module
 */
import type { Channel } from "../config/schema.ts";
import type { Attachment } from "./codec.ts";

declare const handleBrand: unique symbol;
declare const keyBrand: unique symbol;

/** A session key: `<channel>:<conversation>` (the agent is appended by the sessions store). */
export type SessionKey<C extends Channel = Channel> = string & { readonly [keyBrand]: C };

/** One conversation on channel `C`. */
export interface SessionHandle<C extends Channel = Channel> {
  readonly channel: C;
  readonly conversationId: string;
  /** Includes the channel, so two channels' conversation ids can never collide. */
  readonly key: SessionKey<C>;
  readonly [handleBrand]: C;
}

/** Builds the session key of a conversation; the channel is part of it. */
export function sessionKey<C extends Channel>(channel: C, conversationId: string): SessionKey<C> {
  // encodeURIComponent keeps ':' in ids from forging another channel's prefix.
  return `${channel}:${encodeURIComponent(conversationId)}` as SessionKey<C>;
}

/** The handle of `conversationId` on `channel`. */
export function openSession<C extends Channel>(
  channel: C,
  conversationId: string,
): SessionHandle<C> {
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
