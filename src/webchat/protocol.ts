/**
 * What travels between the page and the server: zod schemas for everything the browser sends
 * (WebSocket messages, request bodies, query values) and the types of what the server sends.
 *
 * @module
 */
import { z } from "zod";
import type { ChatEvent, PendingApproval } from "./service.ts";

/** Longest chat message accepted from the page, in characters. */
export const MAX_MESSAGE_CHARS = 32_000;
/** Largest WebSocket frame the server reads, in bytes of UTF-16 (JSON text). */
export const MAX_FRAME_CHARS = 256 * 1024;

const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "ids are 1-64 of [A-Za-z0-9_-]");

/** An agent id as the config allows them. */
export const AgentIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/);

/** A session id from the store: opaque, printable, bounded. */
export const SessionIdSchema = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/);

/** Messages the page sends over the WebSocket. */
export const ClientMessageSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("send"),
    /** The page's id for this turn, echoed on every event of it. */
    turn: id,
    agent: AgentIdSchema,
    sessionId: SessionIdSchema.optional(),
    text: z.string().min(1).max(MAX_MESSAGE_CHARS),
  }),
  z.strictObject({ type: z.literal("stop"), turn: id }),
  z.strictObject({
    type: z.literal("decide"),
    approvalId: z.string().min(1).max(200),
    decision: z.enum(["once", "remember", "deny"]),
  }),
]);

/** A parsed message from the page. */
export type ClientMessage = z.infer<typeof ClientMessageSchema>;

/** Messages the server sends over the WebSocket. */
export type ServerMessage =
  | { type: "event"; turn: string; event: ChatEvent }
  /** The turn is over: finished, stopped by the user, or failed. */
  | { type: "turn_end"; turn: string; stopped: boolean }
  | { type: "approvals"; pending: PendingApproval[] }
  | { type: "error"; message: string; turn?: string };

/** Body of `POST /api/permissions/revoke`. */
export const RevokeSchema = z.strictObject({
  tool: z.string().min(1).max(200),
  agent: AgentIdSchema,
});

/**
 * An uploaded file's name: a single path component, printable, no dot-only names, so the
 * service never sees a path (it confines anyway; this is the first of two fences).
 */
export const UploadNameSchema = z.string().min(1).max(255)
  // Control characters are exactly what this rejects (terminal escapes, NUL truncation).
  // deno-lint-ignore no-control-regex
  .refine((s) => !/[/\\\x00-\x1f\x7f]/.test(s), "a file name, not a path")
  .refine((s) => s !== "." && s !== "..", "a file name, not a path");

/** Query of `POST /api/upload`. */
export const UploadQuerySchema = z.strictObject({ agent: AgentIdSchema, name: UploadNameSchema });

/** Query of `GET /api/audit`. */
export const AuditQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

/** Query of `GET /api/sessions`. */
export const SessionsQuerySchema = z.strictObject({ agent: AgentIdSchema.optional() });
