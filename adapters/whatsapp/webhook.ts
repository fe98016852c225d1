/**
 * The WhatsApp Cloud API webhook, platform side only: the GET verification handshake, the
 * `X-Hub-Signature-256` check over the raw body, and the zod schema of the notification
 * payload. No I/O here, so the security-relevant parts are unit-tested directly.
 *
 * @module
 */
import { z } from "zod";
import type { Secret } from "../../src/secret.ts";
import { timingSafeEqual } from "../part2/http.ts";

const encoder = new TextEncoder();

/** Hex HMAC-SHA256 of `body` with `secret`. */
export async function hmacSha256Hex(secret: Secret, body: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret.reveal()),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  // A copy gives WebCrypto a plain ArrayBuffer-backed view whatever the caller passed.
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new Uint8Array(body)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * True when `header` is `sha256=<hex>` of the HMAC of the raw `body` with the app secret. The
 * comparison is constant-time; a missing or malformed header is false.
 */
export async function verifySignature(
  appSecret: Secret,
  body: Uint8Array,
  header: string | null,
): Promise<boolean> {
  if (!header) return false;
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!m) return false;
  const expected = await hmacSha256Hex(appSecret, body);
  return timingSafeEqual(encoder.encode(expected), encoder.encode(m[1].toLowerCase()));
}

/**
 * Answers Meta's GET verification request: the challenge when `hub.mode` is `subscribe` and
 * `hub.verify_token` matches (constant-time), otherwise `null` (answer 403).
 */
export function verificationChallenge(params: URLSearchParams, verifyToken: Secret): string | null {
  const mode = params.get("hub.mode");
  const token = params.get("hub.verify_token");
  const challenge = params.get("hub.challenge");
  if (mode !== "subscribe" || token === null || challenge === null) return null;
  // The challenge is echoed back as text: keep it short and plain so it cannot carry markup.
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(challenge)) return null;
  const ok = timingSafeEqual(encoder.encode(token), encoder.encode(verifyToken.reveal()));
  return ok ? challenge : null;
}

const Media = z.object({
  id: z.string().min(1).max(256),
  mime_type: z.string().max(200).optional(),
  caption: z.string().max(4096).optional(),
  filename: z.string().max(512).optional(),
});

/** One message inside a notification. Unknown fields pass (Meta adds them); known ones are typed. */
export const WaMessageSchema = z.object({
  from: z.string().min(1).max(64),
  id: z.string().min(1).max(512),
  timestamp: z.string().regex(/^\d{1,12}$/),
  type: z.string().max(64),
  text: z.object({ body: z.string().max(65536) }).optional(),
  image: Media.optional(),
  document: Media.optional(),
  audio: Media.optional(),
  video: Media.optional(),
  sticker: Media.optional(),
  context: z.object({ id: z.string().max(512).optional() }).optional(),
  interactive: z.object({
    type: z.string().max(64),
    button_reply: z.object({ id: z.string().max(256), title: z.string().max(64) }).optional(),
    list_reply: z.object({ id: z.string().max(256), title: z.string().max(64) }).optional(),
  }).optional(),
  button: z.object({ payload: z.string().max(256).optional(), text: z.string().max(256) })
    .optional(),
});

/** A message of the notification. */
export type WaMessage = z.infer<typeof WaMessageSchema>;

/** The notification Meta POSTs to the webhook. */
export const NotificationSchema = z.object({
  object: z.string(),
  entry: z.array(z.object({
    id: z.string().optional(),
    changes: z.array(z.object({
      field: z.string(),
      value: z.object({
        metadata: z.object({ phone_number_id: z.string() }).optional(),
        contacts: z.array(z.object({
          wa_id: z.string(),
          profile: z.object({ name: z.string().max(256) }).optional(),
        })).max(100).optional(),
        // Malformed single messages are dropped one by one below, not the whole delivery.
        messages: z.array(z.unknown()).max(100).optional(),
      }),
    })).max(100),
  })).max(100),
});

/** A message with its sender's display name, ready for the driver. */
export interface IncomingMessage {
  message: WaMessage;
  senderName?: string;
}

/**
 * The messages of a verified notification addressed to `phoneNumberId` (another number of the
 * same app is not ours to answer). Status updates and malformed entries are skipped.
 */
export function extractMessages(json: unknown, phoneNumberId: string): IncomingMessage[] {
  const parsed = NotificationSchema.safeParse(json);
  if (!parsed.success || parsed.data.object !== "whatsapp_business_account") return [];
  const out: IncomingMessage[] = [];
  for (const entry of parsed.data.entry) {
    for (const change of entry.changes) {
      if (change.field !== "messages") continue;
      const v = change.value;
      if (v.metadata && v.metadata.phone_number_id !== phoneNumberId) continue;
      const names = new Map((v.contacts ?? []).map((c) => [c.wa_id, c.profile?.name]));
      for (const raw of v.messages ?? []) {
        const m = WaMessageSchema.safeParse(raw);
        if (m.success) out.push({ message: m.data, senderName: names.get(m.data.from) });
      }
    }
  }
  return out;
}

/** The media part of a message, if it has one. */
export function mediaOf(
  m: WaMessage,
): { kind: string; id: string; mimeType: string; caption?: string; filename?: string } | null {
  for (const kind of ["image", "document", "audio", "video", "sticker"] as const) {
    const media = m[kind];
    if (media) {
      return {
        kind,
        id: media.id,
        mimeType: media.mime_type ?? "application/octet-stream",
        caption: media.caption,
        filename: media.filename,
      };
    }
  }
  return null;
}

/** The text a message stands for: its body, caption, or the pressed button's reply. */
export function textOf(m: WaMessage): string {
  if (m.text) return m.text.body;
  const reply = m.interactive?.button_reply ?? m.interactive?.list_reply;
  if (reply) return reply.id;
  if (m.button) return m.button.payload ?? m.button.text;
  return mediaOf(m)?.caption ?? "";
}
