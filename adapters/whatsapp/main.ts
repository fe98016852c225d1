/**
 * The WhatsApp Cloud API driver. Inbound: a webhook on loopback (127.0.0.1:3979 by default,
 * `WHATSAPP_LISTEN_PORT`), meant to sit behind the user's reverse proxy or tunnel. Every POST is
 * capped in size and its `X-Hub-Signature-256` checked over the raw bytes before anything is
 * parsed; a bad one gets 401 and is logged without its body. Good deliveries are acknowledged at
 * once and processed afterwards (Meta retries slow webhooks), and each message id is handled
 * once. Outbound: the Graph API messages endpoint, with reply buttons for approval prompts and
 * media upload; free-form messages only inside the 24-hour customer service window.
 *
 * @module
 */
import type { ApprovalRequestFrame, InboundInput } from "../../src/ipc/client.ts";
import type { Attachment, OutboundFields } from "../../src/ipc/codec.ts";
import type { ApprovalAnswer, OutboundResult } from "../../src/ipc/session.ts";
import type { Secret } from "../../src/secret.ts";
import { BodyTooLarge, callJson, classifyHttp, readCappedBody } from "../part2/http.ts";
import { RecentIds } from "../part2/recent.ts";
import { ApprovalButtons, approvalText, buttonData } from "../shared/approvals.ts";
import {
  collectAttachments,
  downloadCapped,
  INLINE_MAX_BYTES,
  inlineAttachment,
} from "../shared/attachments.ts";
import { META } from "../shared/conventions.ts";
import { withRetry } from "../shared/pacing.ts";
import type { ChannelDriver, DriverContext } from "../shared/runtime.ts";
import { formatForWhatsApp } from "./format.ts";
import { manifest } from "./manifest.ts";
import {
  extractMessages,
  type IncomingMessage,
  mediaOf,
  textOf,
  verificationChallenge,
  verifySignature,
} from "./webhook.ts";

/** The Graph API version the adapter speaks. */
export const GRAPH_VERSION = "v21.0";
/** Largest webhook body accepted; Meta's notifications are a few kilobytes. */
export const MAX_WEBHOOK_BYTES = 256 * 1024;
/** WhatsApp lets a business answer freely only this long after the user's last message. */
export const SERVICE_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Interactive message bodies are capped by WhatsApp at 1024 characters. */
const BUTTON_BODY_MAX = 1024;

/** Settings read from the environment (non-secret), with production defaults. */
export interface WhatsAppSettings {
  port: number;
  graphUrl: string;
  /** Where the webhook listens; loopback unless changed by a test. */
  hostname: string;
}

/** Reads {@linkcode WhatsAppSettings} from the manifest's env names. */
export function settingsFromEnv(env: { get(n: string): string | undefined }): WhatsAppSettings {
  const port = Number(env.get("WHATSAPP_LISTEN_PORT") ?? manifest.webhook?.defaultPort ?? 3979);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`WHATSAPP_LISTEN_PORT is not a port: ${env.get("WHATSAPP_LISTEN_PORT")}`);
  }
  const graphUrl = (env.get("WHATSAPP_GRAPH_URL") ?? "https://graph.facebook.com").replace(
    /\/+$/,
    "",
  );
  return { port, graphUrl, hostname: "127.0.0.1" };
}

interface Creds {
  accessToken: Secret;
  appSecret: Secret;
  verifyToken: Secret;
  phoneNumberId: string;
}

function need(ctx: DriverContext, what: string): Secret {
  const s = ctx.credentials.get(`channel.whatsapp.${what}`);
  if (!s) {
    throw new Error(
      `missing credential channel.whatsapp.${what}; run \`wirken channel add whatsapp\``,
    );
  }
  return s;
}

/** A running driver's observable state, for tests. */
export interface WhatsAppDriver extends ChannelDriver {
  /** The bound webhook port once started (useful when asked for port 0). */
  readonly port: Promise<number>;
}

/** Creates the WhatsApp driver; `settings` default to the environment. */
export function createWhatsAppDriver(settings?: WhatsAppSettings): WhatsAppDriver {
  let ctx: DriverContext | null = null;
  let creds: Creds | null = null;
  let s: WhatsAppSettings;
  const seen = new RecentIds();
  const approvals = new ApprovalButtons();
  /** Last inbound time per conversation (wa_id), for the 24-hour window. */
  const lastInbound = new Map<string, number>();
  /** The newest message id per conversation: the typing indicator is tied to one. */
  const lastMessageId = new Map<string, string>();
  let resolvePort: (p: number) => void = () => {};
  const port = new Promise<number>((r) => (resolvePort = r));

  function api(path: string): string {
    return `${s.graphUrl}/${GRAPH_VERSION}/${path}`;
  }
  function auth(): Record<string, string> {
    return { authorization: `Bearer ${creds!.accessToken.reveal()}` };
  }
  /** One Graph API call with the shared retry policy (429, 5xx, network). */
  function call(path: string, init: RequestInit = {}): Promise<unknown> {
    const headers = { ...auth(), ...(init.headers as Record<string, string> | undefined) };
    return withRetry(() => callJson(api(path), { ...init, headers }, ctx?.signal), {
      classify: classifyHttp,
      attempts: 3,
      baseMs: 300,
      maxWaitMs: 10_000,
      signal: ctx?.signal,
    });
  }

  async function loadMedia(id: string, maxBytes: number): Promise<Uint8Array> {
    const info = await call(encodeURIComponent(id)) as { url?: unknown };
    if (typeof info.url !== "string") throw new Error("media lookup returned no url");
    // The media URL is on Meta's CDN and needs the token too; the net grant decides whether
    // its host is reachable at all.
    return await downloadCapped(info.url, maxBytes, { headers: auth(), signal: ctx?.signal });
  }

  async function handleMessage(item: IncomingMessage): Promise<void> {
    const c = ctx!;
    const m = item.message;
    if (!seen.add(m.id)) {
      c.log.debug("duplicate delivery ignored", { id: m.id });
      return;
    }
    const sentAt = Number(m.timestamp) * 1000;
    // A delivery older than the reply window cannot be answered anyway; an old signed body
    // replayed after the id memory rolled over must not start a turn.
    if (Date.now() - sentAt > SERVICE_WINDOW_MS) {
      c.log.warn("message older than 24 hours ignored", { id: m.id });
      return;
    }
    lastInbound.set(m.from, Math.max(lastInbound.get(m.from) ?? 0, Math.min(sentAt, Date.now())));
    lastMessageId.set(m.from, m.id);
    const pressed = m.interactive?.button_reply?.id;
    if (pressed && approvals.click(pressed, m.from, m.from)) return;
    const metadata: Record<string, string> = { [META.reason]: "dm" };
    const media = mediaOf(m);
    const { attachments, skipped } = await collectAttachments(
      media
        ? [{
          name: media.filename ?? `${media.kind}-${media.id}`,
          load: async (max: number): Promise<Attachment> =>
            inlineAttachment(
              media.filename ?? `${media.kind}-${media.id}`,
              media.mimeType,
              await loadMedia(media.id, max),
            ),
        }]
        : [],
      Math.min(manifest.limits.maxAttachmentBytes, INLINE_MAX_BYTES),
    );
    if (skipped.length > 0) metadata[META.skipped] = skipped.join("; ");
    const message: InboundInput = {
      id: m.id,
      senderId: m.from,
      senderName: item.senderName,
      conversationId: m.from,
      text: textOf(m),
      timestamp: sentAt,
      isGroup: false,
      replyToId: m.context?.id,
      attachments,
      metadata,
    };
    await c.sendInbound(message);
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname !== "/webhook" && url.pathname !== "/") {
      return new Response("not found", { status: 404 });
    }
    if (req.method === "GET") {
      const challenge = verificationChallenge(url.searchParams, creds!.verifyToken);
      if (challenge === null) {
        ctx!.log.warn("webhook verification refused (wrong verify token or mode)");
        return new Response("forbidden", { status: 403 });
      }
      return new Response(challenge, { headers: { "content-type": "text/plain" } });
    }
    if (req.method !== "POST") return new Response("method not allowed", { status: 405 });
    let body: Uint8Array;
    try {
      body = await readCappedBody(req, MAX_WEBHOOK_BYTES);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        ctx!.log.warn("webhook body over the cap refused", { limit: MAX_WEBHOOK_BYTES });
        return new Response("payload too large", { status: 413 });
      }
      return new Response("bad request", { status: 400 });
    }
    const ok = await verifySignature(
      creds!.appSecret,
      body,
      req.headers.get("x-hub-signature-256"),
    );
    if (!ok) {
      // Never log the body: it is unauthenticated input, possibly crafted for the log.
      ctx!.log.warn("webhook with a missing or wrong X-Hub-Signature-256 refused", {
        bytes: body.length,
      });
      return new Response("unauthorized", { status: 401 });
    }
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
    } catch {
      return new Response("bad request", { status: 400 });
    }
    const items = extractMessages(json, creds!.phoneNumberId);
    // Acknowledge first: Meta retries deliveries that take long, and a model turn does.
    setTimeout(async () => {
      for (const item of items) {
        await handleMessage(item).catch((e) =>
          ctx?.log.warn("inbound message failed", { error: String(e) })
        );
      }
    }, 0);
    return new Response("ok");
  }

  async function post(to: string, payload: Record<string, unknown>): Promise<string> {
    const json = await call(`${encodeURIComponent(creds!.phoneNumberId)}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        messaging_product: "whatsapp",
        recipient_type: "individual",
        to,
        ...payload,
      }),
    }) as { messages?: { id?: unknown }[] };
    const id = json.messages?.[0]?.id;
    return typeof id === "string" ? id : "";
  }

  async function upload(a: Attachment): Promise<string> {
    if (a.data.length > manifest.limits.maxAttachmentBytes) {
      throw new Error(
        `attachment ${a.name} is over the ${manifest.limits.maxAttachmentBytes}-byte cap`,
      );
    }
    const form = new FormData();
    form.append("messaging_product", "whatsapp");
    form.append("type", a.mimeType || "application/octet-stream");
    form.append("file", new Blob([new Uint8Array(a.data)], { type: a.mimeType }), a.name || "file");
    const json = await call(`${encodeURIComponent(creds!.phoneNumberId)}/media`, {
      method: "POST",
      body: form,
    }) as { id?: unknown };
    if (typeof json.id !== "string") throw new Error("WhatsApp media upload returned no id");
    return json.id;
  }

  /** The 24-hour rule: `null` when a free-form message may go to `to`, else why not. */
  function windowClosed(to: string): string | null {
    const last = lastInbound.get(to);
    if (last !== undefined && Date.now() - last <= SERVICE_WINDOW_MS) return null;
    return "outside WhatsApp's 24-hour window: the user has not written in the last 24 hours " +
      "(only approved templates may be sent then, which this adapter does not send)";
  }

  return {
    port,
    async start(c) {
      ctx = c;
      s = settings ?? settingsFromEnv(Deno.env);
      creds = {
        accessToken: need(c, "access_token"),
        appSecret: need(c, "app_secret"),
        verifyToken: need(c, "verify_token"),
        phoneNumberId: need(c, "phone_number_id").reveal(),
      };
      const server = Deno.serve({
        hostname: s.hostname,
        port: s.port,
        signal: c.signal,
        onListen: (addr) => {
          resolvePort(addr.port);
          c.log.info("WhatsApp webhook listening", { address: `${addr.hostname}:${addr.port}` });
        },
      }, handle);
      await server.finished;
    },

    stop() {
      approvals.close();
      return Promise.resolve();
    },

    async onOutbound(m: OutboundFields): Promise<OutboundResult> {
      if (!ctx || !creds) return { ok: false, messageId: "", error: "adapter not started" };
      if (m.editId) {
        return { ok: false, messageId: "", error: "WhatsApp cannot edit sent messages" };
      }
      const closed = windowClosed(m.conversationId);
      if (closed) return { ok: false, messageId: "", error: closed };
      const to = m.conversationId;
      const context = m.replyToId ? { context: { message_id: m.replyToId } } : {};
      try {
        let firstId = "";
        const parts = m.text.trim() ? formatForWhatsApp(m.text, manifest.limits.maxTextChars) : [];
        for (const piece of parts) {
          const id = await post(to, {
            type: "text",
            text: { body: piece, preview_url: false },
            ...(firstId ? {} : context),
          });
          firstId ||= id;
        }
        for (const a of m.attachments) {
          const mediaId = await upload(a);
          const kind = a.mimeType.startsWith("image/") ? "image" : "document";
          const media = kind === "image"
            ? { id: mediaId }
            : { id: mediaId, filename: a.name || "file" };
          const id = await post(to, { type: kind, [kind]: media });
          firstId ||= id;
        }
        return { ok: true, messageId: firstId, error: "" };
      } catch (e) {
        return { ok: false, messageId: "", error: e instanceof Error ? e.message : String(e) };
      }
    },

    async onTyping(conversationId: string): Promise<void> {
      const messageId = lastMessageId.get(conversationId);
      if (!ctx || !creds || !messageId || windowClosed(conversationId)) return;
      // WhatsApp shows "typing..." as part of marking the user's message read.
      await call(`${encodeURIComponent(creds.phoneNumberId)}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          messaging_product: "whatsapp",
          status: "read",
          message_id: messageId,
          typing_indicator: { type: "text" },
        }),
      }).catch(() => {});
    },

    async onApprovalRequest(request: ApprovalRequestFrame): Promise<ApprovalAnswer> {
      if (!ctx || !creds || windowClosed(request.conversationId)) {
        return { approved: false, decidedBy: "" };
      }
      const { token, answer } = approvals.open(request);
      const text = approvalText(request);
      try {
        await post(request.conversationId, {
          type: "interactive",
          interactive: {
            type: "button",
            // Interactive bodies are capped at 1024 characters by WhatsApp.
            body: { text: text.length > BUTTON_BODY_MAX ? `${text.slice(0, 1020)}...` : text },
            action: {
              buttons: [
                { type: "reply", reply: { id: buttonData(token, "approve"), title: "Approve" } },
                { type: "reply", reply: { id: buttonData(token, "deny"), title: "Deny" } },
              ],
            },
          },
        });
      } catch (e) {
        ctx.log.warn("could not show the approval buttons", { error: String(e) });
        approvals.click(buttonData(token, "deny"), request.conversationId, "");
      }
      return await answer;
    },
  };
}

/** The driver `loadDriver` runs for `whatsapp`. */
export function createDriver(): ChannelDriver {
  return createWhatsAppDriver();
}
