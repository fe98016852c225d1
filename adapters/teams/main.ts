/**
 * The Microsoft Teams driver (Bot Framework). Inbound: `POST /api/messages` on loopback
 * (127.0.0.1:3978 by default, `TEAMS_LISTEN_PORT`), meant to sit behind the user's reverse
 * proxy or tunnel. Each request's body is capped, then its JWT is verified (jwt.ts) before the
 * activity is even parsed; the `serviceUrl` must also be on the allow-list (the Bot Framework's
 * Teams host, or the `TEAMS_SERVICE_URL` override) because replies carry our token there.
 * Activities are acknowledged at once and processed afterwards; each id is handled once.
 * Outbound: the connector API with an OAuth client-credentials token cached until shortly
 * before it expires; edits for streaming; Adaptive Card buttons for approvals.
 *
 * @module
 */
import { z } from "zod";
import type { ApprovalRequestFrame, InboundInput } from "../../src/ipc/client.ts";
import type { Attachment, OutboundFields } from "../../src/ipc/codec.ts";
import type { ApprovalAnswer, OutboundResult } from "../../src/ipc/session.ts";
import type { Secret } from "../../src/secret.ts";
import { BodyTooLarge, callJson, classifyHttp, HttpError, readCappedBody } from "../part2/http.ts";
import { RecentIds } from "../part2/recent.ts";
import { ApprovalButtons, approvalText, buttonData } from "../shared/approvals.ts";
import {
  collectAttachments,
  downloadCapped,
  INLINE_MAX_BYTES,
  inlineAttachment,
} from "../shared/attachments.ts";
import { chunkMarkdown } from "../shared/chunk.ts";
import { type GroupMode, META, shouldAnswer } from "../shared/conventions.ts";
import { withRetry } from "../shared/pacing.ts";
import type { ChannelDriver, DriverContext } from "../shared/runtime.ts";
import {
  BOT_FRAMEWORK_OPENID_URL,
  checkActivityBinding,
  KeySet,
  TokenRejected,
  type VerifiedToken,
  verifyToken,
} from "./jwt.ts";
import { manifest } from "./manifest.ts";

/** Largest activity accepted; Teams activities are a few kilobytes. */
export const MAX_ACTIVITY_BYTES = 512 * 1024;
/** Images sent inline (as data URLs) up to this size; Teams has no plain file upload for bots. */
const INLINE_IMAGE_MAX = 1024 * 1024;

/** Settings read from the environment (non-secret), with production defaults. */
export interface TeamsSettings {
  port: number;
  hostname: string;
  openIdUrl: string;
  /** Token endpoint; `{tenant}` is replaced by the tenant id (or `botframework.com`). */
  tokenUrl: string;
  /** Hosts a `serviceUrl` may name (`host:port`). */
  serviceHosts: string[];
  /** `all`: answer every group/channel message, not only mentions (`TEAMS_GROUP_MODE`). */
  groupMode?: GroupMode;
}

/** Reads {@linkcode TeamsSettings} from the manifest's env names. */
export function settingsFromEnv(env: { get(n: string): string | undefined }): TeamsSettings {
  const port = Number(env.get("TEAMS_LISTEN_PORT") ?? manifest.webhook?.defaultPort ?? 3978);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`TEAMS_LISTEN_PORT is not a port: ${env.get("TEAMS_LISTEN_PORT")}`);
  }
  const serviceHosts = ["smba.trafficmanager.net:443"];
  const override = env.get("TEAMS_SERVICE_URL");
  if (override) serviceHosts.push(hostPort(override));
  return {
    port,
    hostname: "127.0.0.1",
    openIdUrl: env.get("TEAMS_OPENID_URL") ?? BOT_FRAMEWORK_OPENID_URL,
    tokenUrl: env.get("TEAMS_AUTH_URL") ??
      "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
    serviceHosts,
    groupMode: env.get("TEAMS_GROUP_MODE") === "all" ? "all" : "mention",
  };
}

function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
}

const ActivitySchema = z.object({
  type: z.string().max(64),
  id: z.string().max(512).optional(),
  timestamp: z.string().max(64).optional(),
  serviceUrl: z.string().max(2048),
  channelId: z.string().max(64),
  from: z.object({
    id: z.string().max(512),
    name: z.string().max(512).optional(),
    aadObjectId: z.string().max(128).optional(),
  }),
  recipient: z.object({ id: z.string().max(512), name: z.string().max(512).optional() })
    .optional(),
  conversation: z.object({
    id: z.string().min(1).max(1024),
    conversationType: z.string().max(64).optional(),
    isGroup: z.boolean().optional(),
  }),
  text: z.string().max(200_000).optional(),
  replyToId: z.string().max(512).optional(),
  value: z.unknown().optional(),
  entities: z.array(
    z.object({
      type: z.string(),
      mentioned: z.object({ id: z.string() }).optional(),
    }).loose(),
  ).max(100).optional(),
  attachments: z.array(
    z.object({
      contentType: z.string().max(256),
      contentUrl: z.string().max(4096).optional(),
      name: z.string().max(512).optional(),
    }).loose(),
  ).max(32).optional(),
});
type Activity = z.infer<typeof ActivitySchema>;

/**
 * The sender id the allow-list holds: the user's Entra ID (AAD) object id, which is stable and
 * visible to the user, else the Bot Framework's per-bot `29:` id.
 */
export function senderIdOf(a: { from: { id: string; aadObjectId?: string } }): string {
  return a.from.aadObjectId ?? a.from.id;
}

/** A started driver, with the bound port (tests ask for port 0). */
export interface TeamsDriver extends ChannelDriver {
  readonly port: Promise<number>;
}

interface Creds {
  appId: string;
  appPassword: Secret;
  tenant: string;
}

/** Creates the Teams driver; `settings` default to the environment. */
export function createTeamsDriver(settings?: TeamsSettings): TeamsDriver {
  let ctx: DriverContext | null = null;
  let creds: Creds | null = null;
  let s: TeamsSettings;
  let keys: KeySet;
  const seen = new RecentIds();
  const approvals = new ApprovalButtons();
  /** Where each conversation's replies go (the activity's verified, allow-listed serviceUrl). */
  const serviceUrls = new Map<string, string>();
  let token: { value: string; until: number } | null = null;
  let resolvePort: (p: number) => void = () => {};
  const port = new Promise<number>((r) => (resolvePort = r));

  async function accessToken(): Promise<string> {
    if (token && Date.now() < token.until) return token.value;
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: creds!.appId,
      client_secret: creds!.appPassword.reveal(),
      scope: "https://api.botframework.com/.default",
    });
    const json = await withRetry(
      () =>
        callJson(s.tokenUrl.replace("{tenant}", encodeURIComponent(creds!.tenant)), {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: body.toString(),
        }, ctx?.signal),
      { classify: classifyHttp, attempts: 3, baseMs: 300, maxWaitMs: 10_000, signal: ctx?.signal },
    );
    const t = z.object({ access_token: z.string().min(1), expires_in: z.number().positive() })
      .parse(json);
    // Renew five minutes early so a token never expires mid-request.
    token = { value: t.access_token, until: Date.now() + Math.max(0, t.expires_in - 300) * 1000 };
    return t.access_token;
  }

  async function connector(
    conversationId: string,
    path: string,
    method: "POST" | "PUT",
    body: Record<string, unknown>,
  ): Promise<string> {
    const base = serviceUrls.get(conversationId);
    if (!base) throw new Error("no conversation with this id has written to the bot yet");
    const url = `${base.replace(/\/+$/, "")}/v3/conversations/${
      encodeURIComponent(conversationId)
    }/activities${path}`;
    const json = await withRetry(async () =>
      callJson(url, {
        method,
        headers: {
          authorization: `Bearer ${await accessToken()}`,
          "content-type": "application/json",
        },
        body: JSON.stringify(body),
      }, ctx?.signal), {
      classify: (e) => {
        // A 401 means the cached token went stale: drop it and try once more.
        if (e instanceof HttpError && e.status === 401) {
          token = null;
          return { retryable: true, afterMs: 0 };
        }
        return classifyHttp(e);
      },
      attempts: 3,
      baseMs: 300,
      maxWaitMs: 10_000,
      signal: ctx?.signal,
    }) as { id?: unknown };
    return typeof json.id === "string" ? json.id : "";
  }

  function serviceUrlAllowed(url: string): boolean {
    try {
      const u = new URL(url);
      const hp = hostPort(url);
      if (!s.serviceHosts.includes(hp)) return false;
      // Only the explicit override (a local emulator) may be plain HTTP.
      return u.protocol === "https:" || hp === s.serviceHosts[1];
    } catch {
      return false;
    }
  }

  async function handleActivity(a: Activity): Promise<void> {
    const c = ctx!;
    if (a.type !== "message") return;
    if (a.id && !seen.add(a.id)) {
      c.log.debug("duplicate activity ignored", { id: a.id });
      return;
    }
    const conversationId = a.conversation.id;
    serviceUrls.set(conversationId, a.serviceUrl);
    // An Adaptive Card button press arrives as a message whose value carries our data.
    const pressed = (a.value as { wirken?: unknown } | undefined)?.wirken;
    if (
      typeof pressed === "string" && approvals.click(pressed, conversationId, senderIdOf(a))
    ) return;
    const isGroup = a.conversation.conversationType
      ? a.conversation.conversationType !== "personal"
      : a.conversation.isGroup === true;
    const botId = a.recipient?.id;
    const mentioned = (a.entities ?? []).some((e) =>
      e.type === "mention" && botId !== undefined && e.mentioned?.id === botId
    );
    const facts = { isGroup, mentioned, repliedToBot: false, fromBot: a.from.id === botId };
    if (!shouldAnswer(facts, c.groupMode?.(conversationId) ?? s.groupMode)) {
      return;
    }
    // Teams puts mentions in the text as <at>Name</at>; the agent gets the question only.
    const text = (a.text ?? "").replace(/<at>[^<]*<\/at>/g, "").replace(/\s+/g, " ").trim();
    const metadata: Record<string, string> = {
      [META.reason]: !isGroup ? "dm" : mentioned ? "mention" : "all",
    };
    const serviceHost = hostPort(a.serviceUrl);
    const files = (a.attachments ?? []).filter((x) =>
      x.contentType.startsWith("image/") && x.contentUrl
    ).map((x) => ({
      name: x.name ?? "image",
      load: async (max: number): Promise<Attachment> => {
        const url = x.contentUrl!;
        // Our token goes only to the connector host that sent the activity.
        const sameHost = (() => {
          try {
            return hostPort(url) === serviceHost;
          } catch {
            return false;
          }
        })();
        if (!sameHost) throw new Error("attachment host is not the connector");
        const data = await downloadCapped(url, max, {
          headers: { authorization: `Bearer ${await accessToken()}` },
          signal: c.signal,
        });
        return inlineAttachment(x.name ?? "image", x.contentType, data);
      },
    }));
    const { attachments, skipped } = await collectAttachments(
      files,
      Math.min(manifest.limits.maxAttachmentBytes, INLINE_MAX_BYTES),
    );
    const others = (a.attachments ?? []).filter((x) =>
      !x.contentType.startsWith("image/") && !x.contentType.startsWith("text/html")
    );
    for (const o of others) skipped.push(`${o.name ?? o.contentType} (not downloadable)`);
    if (skipped.length > 0) metadata[META.skipped] = skipped.join("; ");
    const message: InboundInput = {
      id: a.id ?? crypto.randomUUID(),
      senderId: senderIdOf(a),
      senderName: a.from.name,
      conversationId,
      text,
      timestamp: a.timestamp ? Date.parse(a.timestamp) || Date.now() : Date.now(),
      isGroup,
      replyToId: a.replyToId,
      attachments,
      metadata,
    };
    await c.sendInbound(message);
  }

  function refuse(e: unknown): Response {
    const reason = e instanceof TokenRejected ? e.message : "token check failed";
    if (!(e instanceof TokenRejected)) {
      ctx!.log.warn("could not load the Bot Framework signing keys", { error: String(e) });
    }
    // The body is unauthenticated input: never logged.
    ctx!.log.warn("activity refused", { reason });
    return new Response("unauthorized", { status: 401 });
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname !== "/api/messages") return new Response("not found", { status: 404 });
    if (req.method !== "POST") return new Response("method not allowed", { status: 405 });
    let body: Uint8Array;
    try {
      body = await readCappedBody(req, MAX_ACTIVITY_BYTES);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        ctx!.log.warn("activity over the size cap refused", { limit: MAX_ACTIVITY_BYTES });
        return new Response("payload too large", { status: 413 });
      }
      return new Response("bad request", { status: 400 });
    }
    // The token first: nothing of the unauthenticated body is parsed before it holds.
    let token: VerifiedToken;
    try {
      token = await verifyToken(req.headers.get("authorization"), keys, { appId: creds!.appId });
    } catch (e) {
      return refuse(e);
    }
    let activity: Activity;
    try {
      const parsed = ActivitySchema.safeParse(
        JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body)),
      );
      if (!parsed.success) return new Response("bad request", { status: 400 });
      activity = parsed.data;
    } catch {
      return new Response("bad request", { status: 400 });
    }
    try {
      checkActivityBinding(token, activity);
    } catch (e) {
      return refuse(e);
    }
    if (!serviceUrlAllowed(activity.serviceUrl)) {
      ctx!.log.warn("activity names a serviceUrl outside the allow-list; refused");
      return new Response("forbidden", { status: 403 });
    }
    // Acknowledge first: the connector retries slow bots, and a model turn is slow.
    setTimeout(() => {
      handleActivity(activity).catch((e) => ctx?.log.warn("activity failed", { error: String(e) }));
    }, 0);
    return new Response(null, { status: 202 });
  }

  return {
    port,
    async start(c) {
      ctx = c;
      s = settings ?? settingsFromEnv(Deno.env);
      const appId = c.credentials.get("channel.teams.app_id");
      const appPassword = c.credentials.get("channel.teams.app_password");
      if (!appId || !appPassword) {
        throw new Error(
          "missing channel.teams.app_id or app_password; run `wirken channel add teams`",
        );
      }
      creds = {
        appId: appId.reveal(),
        appPassword,
        tenant: c.credentials.get("channel.teams.tenant_id")?.reveal() ?? "botframework.com",
      };
      keys = new KeySet(s.openIdUrl);
      const server = Deno.serve({
        hostname: s.hostname,
        port: s.port,
        signal: c.signal,
        onListen: (addr) => {
          resolvePort(addr.port);
          c.log.info("Teams endpoint listening", {
            address: `${addr.hostname}:${addr.port}/api/messages`,
          });
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
      try {
        if (m.editId) {
          // Streaming edits replace the whole text; an edit longer than one message is cut.
          const text = chunkMarkdown(m.text, manifest.limits.maxTextChars)[0] ?? "";
          await connector(m.conversationId, `/${encodeURIComponent(m.editId)}`, "PUT", {
            type: "message",
            id: m.editId,
            text,
            textFormat: "markdown",
          });
          return { ok: true, messageId: m.editId, error: "" };
        }
        let firstId = "";
        const parts = m.text.trim() ? chunkMarkdown(m.text, manifest.limits.maxTextChars) : [];
        for (const part of parts) {
          const id = await connector(m.conversationId, "", "POST", {
            type: "message",
            text: part,
            textFormat: "markdown",
            ...(m.replyToId && !firstId ? { replyToId: m.replyToId } : {}),
          });
          firstId ||= id;
        }
        for (const a of m.attachments) {
          if (!a.mimeType.startsWith("image/") || a.data.length > INLINE_IMAGE_MAX) {
            throw new Error(
              `Teams bots can send only images up to ${INLINE_IMAGE_MAX} bytes inline (${a.name})`,
            );
          }
          const b64 = btoa(Array.from(a.data, (b) => String.fromCharCode(b)).join(""));
          const id = await connector(m.conversationId, "", "POST", {
            type: "message",
            attachments: [{
              contentType: a.mimeType,
              contentUrl: `data:${a.mimeType};base64,${b64}`,
              name: a.name,
            }],
          });
          firstId ||= id;
        }
        return { ok: true, messageId: firstId, error: "" };
      } catch (e) {
        return { ok: false, messageId: "", error: e instanceof Error ? e.message : String(e) };
      }
    },

    async onTyping(conversationId: string): Promise<void> {
      if (!serviceUrls.has(conversationId)) return;
      await connector(conversationId, "", "POST", { type: "typing" }).catch(() => {});
    },

    async onApprovalRequest(request: ApprovalRequestFrame): Promise<ApprovalAnswer> {
      if (!ctx || !serviceUrls.has(request.conversationId)) {
        return { approved: false, decidedBy: "" };
      }
      const { token: t, answer } = approvals.open(request);
      try {
        await connector(request.conversationId, "", "POST", {
          type: "message",
          attachments: [{
            contentType: "application/vnd.microsoft.card.adaptive",
            content: {
              type: "AdaptiveCard",
              version: "1.4",
              $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
              body: [{ type: "TextBlock", text: approvalText(request), wrap: true }],
              actions: [
                {
                  type: "Action.Submit",
                  title: "Approve",
                  data: { wirken: buttonData(t, "approve") },
                },
                { type: "Action.Submit", title: "Deny", data: { wirken: buttonData(t, "deny") } },
              ],
            },
          }],
        });
      } catch (e) {
        ctx.log.warn("could not show the approval card", { error: String(e) });
        approvals.click(buttonData(t, "deny"), request.conversationId, "");
      }
      return await answer;
    },
  };
}

/** The driver `loadDriver` runs for `teams`. */
export function createDriver(): ChannelDriver {
  return createTeamsDriver();
}
