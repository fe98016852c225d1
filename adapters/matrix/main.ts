/**
 * The Matrix driver, on matrix-js-sdk: one bot account on one homeserver (`MATRIX_HOMESERVER_URL`,
 * HTTPS unless loopback), its sync loop, DMs and rooms (rooms answer mentions and replies to the
 * bot), threads and replies, edits for streamed answers, `m.image`/`m.file` in (authenticated
 * media, capped) and out, and approvals as reactions (Matrix has no buttons).
 *
 * Invites are accepted only from the senders on the channel's allow-list (handed over as
 * `MATRIX_ALLOWED_INVITERS` by the gateway); others are declined.
 *
 * **End-to-end encryption is not supported**: the adapter has no storage of its own (by design it
 * never opens a database), and an in-memory crypto store would be a new, unverified device on
 * every restart. So invites to encrypted rooms are declined, a room that turns encryption on is
 * left, and nothing is ever sent into an encrypted room: the send path checks the room state
 * before every message and refuses.
 *
 * @module
 */
import type { ApprovalRequestFrame, InboundInput } from "../../src/ipc/client.ts";
import type { Attachment, OutboundFields } from "../../src/ipc/codec.ts";
import type { ApprovalAnswer, OutboundResult } from "../../src/ipc/session.ts";
import type { Logger } from "../../src/log/logger.ts";
import type { Secret } from "../../src/secret.ts";
import { RecentIds } from "../part2/recent.ts";
import { ApprovalButtons, approvalText, buttonData } from "../shared/approvals.ts";
import {
  collectAttachments,
  downloadCapped,
  INLINE_MAX_BYTES,
  inlineAttachment,
} from "../shared/attachments.ts";
import {
  type GroupMode,
  joinConversation,
  META,
  shouldAnswer,
  splitConversation,
  stripMention,
} from "../shared/conventions.ts";
import type { ChannelDriver, DriverContext } from "../shared/runtime.ts";
import { formatForMatrix } from "./format.ts";
import { manifest } from "./manifest.ts";

type Sdk = typeof import("matrix-js-sdk");
type MatrixClient = import("matrix-js-sdk").MatrixClient;
type MatrixEvent = import("matrix-js-sdk").MatrixEvent;
type Room = import("matrix-js-sdk").Room;

/** The reactions that answer an approval prompt. */
export const APPROVE_KEY = "✅";
/** See {@linkcode APPROVE_KEY}. */
export const DENY_KEY = "❌";
/** Why an encrypted room is refused; shown in the log and in every refused send. */
export const E2EE_REFUSAL =
  "end-to-end encrypted rooms are not supported by the wirken Matrix adapter (it keeps no " +
  "crypto store); invite the bot to an unencrypted room or DM instead";

/** Settings read from the environment (non-secret), with production defaults. */
export interface MatrixSettings {
  homeserver: string;
  /** Sender ids whose invites are accepted (the channel's allow-list). */
  allowedInviters: string[];
  /** `all`: answer every room message, not only mentions and replies (`MATRIX_GROUP_MODE`). */
  groupMode?: GroupMode;
}

/** True for a loopback host, where plain HTTP is acceptable (local homeserver, tests). */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Reads {@linkcode MatrixSettings}; a non-loopback homeserver must use HTTPS. */
export function settingsFromEnv(env: { get(n: string): string | undefined }): MatrixSettings {
  const homeserver = (env.get("MATRIX_HOMESERVER_URL") ??
    `https://${manifest.apiHosts[0].replace(/:443$/, "")}`).replace(/\/+$/, "");
  let url: URL;
  try {
    url = new URL(homeserver);
  } catch {
    throw new Error(`MATRIX_HOMESERVER_URL is not a URL: ${homeserver}`);
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) {
    throw new Error(`the Matrix homeserver must use HTTPS (got ${url.origin})`);
  }
  const allowedInviters = (env.get("MATRIX_ALLOWED_INVITERS") ?? "").split(",")
    .map((s) => s.trim()).filter((s) => s.length > 0);
  const groupMode: GroupMode = env.get("MATRIX_GROUP_MODE") === "all" ? "all" : "mention";
  return { homeserver, allowedInviters, groupMode };
}

/** Routes the SDK's chatter to our logger: warnings and errors only, no request dumps. */
function sdkLogger(log: Logger): NonNullable<import("matrix-js-sdk").ICreateClientOpts["logger"]> {
  const quiet = () => {};
  const text = (msg: unknown[]) => msg.map((m) => String(m)).join(" ").slice(0, 500);
  const l = {
    trace: quiet,
    debug: quiet,
    info: quiet,
    warn: (...msg: unknown[]) => log.debug("matrix-js-sdk warning", { detail: text(msg) }),
    error: (...msg: unknown[]) => log.warn("matrix-js-sdk error", { detail: text(msg) }),
    getChild: () => l,
  };
  return l;
}

/** A started driver, with access to the client for tests. */
export interface MatrixDriver extends ChannelDriver {
  /** Resolves once the first sync has completed. */
  readonly ready: Promise<void>;
}

/** Creates the Matrix driver; `settings` default to the environment. */
export function createMatrixDriver(settings?: MatrixSettings): MatrixDriver {
  let ctx: DriverContext | null = null;
  let client: MatrixClient | null = null;
  let sdk: Sdk | null = null;
  let me = "";
  let token: Secret | null = null;
  let s: MatrixSettings;
  const seen = new RecentIds();
  const approvals = new ApprovalButtons();
  /** Prompt event id -> approval token, for reactions. */
  const prompts = new Map<string, { token: string; conversationId: string }>();
  let startedAt = 0;
  let resolveReady: () => void = () => {};
  const ready = new Promise<void>((r) => (resolveReady = r));

  function encrypted(room: Room | null): boolean {
    if (!room) return false;
    return room.hasEncryptionStateEvent() ||
      room.currentState.getStateEvents("m.room.encryption", "") !== null;
  }

  async function onInvite(room: Room): Promise<void> {
    const c = ctx!;
    const inviter = room.getDMInviter() ??
      room.currentState.getStateEvents("m.room.member", me)?.getSender();
    if (!inviter || !s.allowedInviters.includes(inviter)) {
      c.log.warn("declined an invite from a sender not on the allow-list", {
        room: room.roomId,
        inviter: inviter ?? "unknown",
      });
      await client!.leave(room.roomId).catch(() => {});
      return;
    }
    if (encrypted(room)) {
      c.log.warn(`declined an invite to an encrypted room: ${E2EE_REFUSAL}`, {
        room: room.roomId,
        inviter,
      });
      await client!.leave(room.roomId).catch(() => {});
      return;
    }
    c.log.info("joining on invite", { room: room.roomId, inviter });
    await client!.joinRoom(room.roomId).catch((e) =>
      c.log.warn("could not join", { room: room.roomId, error: String(e) })
    );
  }

  function relation(event: MatrixEvent): {
    relType?: string;
    eventId?: string;
    inReplyTo?: string;
    key?: string;
  } {
    const rel = event.getContent()["m.relates_to"] as Record<string, unknown> | undefined;
    if (!rel || typeof rel !== "object") return {};
    const reply = rel["m.in_reply_to"] as { event_id?: unknown } | undefined;
    return {
      relType: typeof rel.rel_type === "string" ? rel.rel_type : undefined,
      eventId: typeof rel.event_id === "string" ? rel.event_id : undefined,
      inReplyTo: typeof reply?.event_id === "string" ? reply.event_id : undefined,
      key: typeof rel.key === "string" ? rel.key : undefined,
    };
  }

  function senderOf(room: Room, eventId: string | undefined): string | undefined {
    return eventId ? room.findEventById(eventId)?.getSender() : undefined;
  }

  /** Downloads an `mxc://` URL over authenticated media, capped. */
  async function loadMxc(mxc: string, max: number): Promise<Uint8Array> {
    const m = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(mxc);
    if (!m) throw new Error("not an mxc URL");
    const url = `${s.homeserver}/_matrix/client/v1/media/download/${encodeURIComponent(m[1])}/${
      encodeURIComponent(m[2])
    }`;
    return await downloadCapped(url, max, {
      headers: { authorization: `Bearer ${token!.reveal()}` },
      signal: ctx?.signal,
    });
  }

  async function onTimeline(event: MatrixEvent, room: Room | undefined): Promise<void> {
    const c = ctx!;
    if (!room || event.getSender() === me) return;
    const id = event.getId();
    if (!id || !seen.add(id)) return;
    // The first sync replays recent history; only what arrives after start is new.
    if (event.getTs() < startedAt - 5_000) return;
    const type = event.getType();
    if (type === "m.room.encryption") {
      c.log.warn(`a room turned on encryption; leaving it: ${E2EE_REFUSAL}`, { room: room.roomId });
      await client!.leave(room.roomId).catch(() => {});
      return;
    }
    if (type === "m.room.encrypted") {
      c.log.warn(`encrypted message ignored: ${E2EE_REFUSAL}`, { room: room.roomId });
      return;
    }
    const rel = relation(event);
    if (type === "m.reaction") {
      const prompt = rel.eventId ? prompts.get(rel.eventId) : undefined;
      if (prompt && (rel.key === APPROVE_KEY || rel.key === DENY_KEY)) {
        const decision = rel.key === APPROVE_KEY ? "approve" : "deny";
        if (approvals.click(buttonData(prompt.token, decision), room.roomId, event.getSender()!)) {
          prompts.delete(rel.eventId!);
        }
      }
      return;
    }
    if (type !== "m.room.message" || rel.relType === "m.replace") return;
    const content = event.getContent() as Record<string, unknown>;
    const body = typeof content.body === "string" ? content.body : "";
    const msgtype = typeof content.msgtype === "string" ? content.msgtype : "m.text";
    if (msgtype === "m.notice") return; // bots talk in notices; never answer one (loops)
    const isGroup = room.getJoinedMemberCount() > 2;
    const mentions = content["m.mentions"] as { user_ids?: unknown } | undefined;
    const localpart = me.slice(1, me.indexOf(":"));
    const displayName = room.getMember(me)?.name ?? localpart;
    const mentioned = (Array.isArray(mentions?.user_ids) && mentions.user_ids.includes(me)) ||
      body.includes(me) ||
      new RegExp(`(^|\\W)@?${displayName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`, "i")
        .test(body);
    const thread = rel.relType === "m.thread" ? rel.eventId : undefined;
    const repliedToBot = senderOf(room, rel.inReplyTo) === me ||
      (thread !== undefined && senderOf(room, thread) === me);
    const mode = c.groupMode?.(joinConversation(room.roomId, thread)) ?? s.groupMode;
    if (!shouldAnswer({ isGroup, mentioned, repliedToBot, fromBot: false }, mode)) return;
    let text = body;
    // A reply's body quotes the earlier message after "> " lines; the agent gets the new text.
    if (rel.inReplyTo) text = text.replace(/^(> .*\n)+\n?/, "");
    if (mentioned) text = stripMention(stripMention(text, me), displayName);
    const metadata: Record<string, string> = {
      [META.reason]: !isGroup ? "dm" : mentioned ? "mention" : repliedToBot ? "reply" : "all",
    };
    if (thread) metadata[META.thread] = thread;
    const files: { name: string; load(max: number): Promise<Attachment> }[] = [];
    const skipped: string[] = [];
    if (["m.image", "m.file", "m.audio", "m.video"].includes(msgtype)) {
      const info = content.info as { mimetype?: unknown; size?: unknown } | undefined;
      const name = typeof content.filename === "string" ? content.filename : body || "file";
      if (typeof content.url === "string") {
        const url = content.url;
        files.push({
          name,
          load: async (max) =>
            inlineAttachment(
              name,
              typeof info?.mimetype === "string" ? info.mimetype : "application/octet-stream",
              await loadMxc(url, max),
            ),
        });
        if (text === name) text = ""; // the body of a file event is just its name
      } else skipped.push(`${name} (encrypted file)`);
    }
    const got = await collectAttachments(
      files,
      Math.min(manifest.limits.maxAttachmentBytes, INLINE_MAX_BYTES),
    );
    skipped.push(...got.skipped);
    if (skipped.length > 0) metadata[META.skipped] = skipped.join("; ");
    const message: InboundInput = {
      id,
      senderId: event.getSender()!,
      senderName: room.getMember(event.getSender()!)?.name,
      conversationId: joinConversation(room.roomId, thread),
      text,
      timestamp: event.getTs(),
      isGroup,
      replyToId: rel.inReplyTo,
      attachments: got.attachments,
      metadata,
    };
    await c.sendInbound(message);
  }

  /** Sends one event, refusing encrypted rooms (never plain text into one). */
  async function send(roomId: string, type: string, content: Record<string, unknown>) {
    const room = client!.getRoom(roomId);
    if (encrypted(room) || client!.isRoomEncrypted(roomId)) throw new Error(E2EE_REFUSAL);
    if (!room || room.getMyMembership() !== "join") {
      throw new Error(`the bot is not in room ${roomId}`);
    }
    // The SDK's typed overloads want a known event type; ours are plain m.room.message /
    // m.reaction contents built here.
    const res = await (client!.sendEvent as (
      r: string,
      t: string,
      c: Record<string, unknown>,
    ) => Promise<{ event_id: string }>)(roomId, type, content);
    return res.event_id;
  }

  function relatesTo(thread: string | null, replyTo: string): Record<string, unknown> {
    if (thread) {
      return {
        "m.relates_to": {
          rel_type: "m.thread",
          event_id: thread,
          is_falling_back: !replyTo,
          "m.in_reply_to": { event_id: replyTo || thread },
        },
      };
    }
    return replyTo ? { "m.relates_to": { "m.in_reply_to": { event_id: replyTo } } } : {};
  }

  return {
    ready,
    async start(c) {
      ctx = c;
      s = settings ?? settingsFromEnv(Deno.env);
      const t = c.credentials.get("channel.matrix.access_token");
      const user = c.credentials.get("channel.matrix.user_id");
      if (!t || !user) {
        throw new Error(
          "missing channel.matrix.access_token or user_id; run `wirken channel add matrix`",
        );
      }
      token = t;
      me = user.reveal();
      // Some SDK modules log through its global loglevel logger (to the console) rather than
      // the client's. Children copy the level when created, so set it before the SDK loads:
      // stdout then carries warnings only, no per-event chatter.
      const { logger } = await import("npm:matrix-js-sdk@43.0.0/lib/logger.js");
      (logger as unknown as { setLevel?(level: string, persist?: boolean): void })
        .setLevel?.("warn", false);
      sdk = await import("matrix-js-sdk");
      const log = sdkLogger(c.log);
      client = sdk.createClient({
        baseUrl: s.homeserver,
        accessToken: t.reveal(),
        userId: me,
        logger: log,
        useAuthorizationHeader: true,
      });
      const sdkRef = sdk;
      client.on(sdkRef.RoomEvent.MyMembership, (room, membership) => {
        if (membership === "invite") {
          onInvite(room).catch((e) => c.log.warn("invite handling failed", { error: String(e) }));
        }
      });
      client.on(sdkRef.RoomEvent.Timeline, (event, room, toStart, removed, data) => {
        if (toStart || removed || data?.liveEvent === false) return;
        onTimeline(event, room).catch((e) =>
          c.log.warn("inbound event failed", { error: String(e) })
        );
      });
      const stopped = new Promise<void>((resolve, reject) => {
        client!.on(sdkRef.ClientEvent.Sync, (state, _prev, data) => {
          if (state === "PREPARED") {
            c.log.info("Matrix sync ready", { user: me, homeserver: s.homeserver });
            resolveReady();
          }
          if (state === "ERROR") {
            const err = data?.error as (Error & { errcode?: string }) | undefined;
            const code = err?.errcode ?? "";
            // A revoked or wrong token will not heal: end the adapter so status shows it.
            if (code === "M_UNKNOWN_TOKEN" || code === "M_FORBIDDEN") {
              reject(new Error(`the homeserver refused the access token (${code})`));
            }
          }
        });
        c.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      startedAt = Date.now();
      await client.startClient({ initialSyncLimit: 10, lazyLoadMembers: true });
      try {
        await stopped;
      } finally {
        client.stopClient();
      }
    },

    stop() {
      approvals.close();
      client?.stopClient();
      return Promise.resolve();
    },

    async onOutbound(m: OutboundFields): Promise<OutboundResult> {
      if (!client) return { ok: false, messageId: "", error: "adapter not started" };
      const { chat, thread } = splitConversation(m.conversationId);
      try {
        if (m.editId) {
          const [part] = formatForMatrix(m.text, manifest.limits.maxTextChars);
          const fresh = {
            msgtype: "m.text",
            body: part.body,
            ...(part.html ? { format: "org.matrix.custom.html", formatted_body: part.html } : {}),
          };
          await send(chat, "m.room.message", {
            ...fresh,
            body: `* ${fresh.body}`,
            "m.new_content": fresh,
            "m.relates_to": { rel_type: "m.replace", event_id: m.editId },
          });
          return { ok: true, messageId: m.editId, error: "" };
        }
        let firstId = "";
        const parts = m.text.trim() ? formatForMatrix(m.text, manifest.limits.maxTextChars) : [];
        for (const part of parts) {
          const id = await send(chat, "m.room.message", {
            // Notices mark bot output, so other bots do not answer it.
            msgtype: "m.notice",
            body: part.body,
            ...(part.html ? { format: "org.matrix.custom.html", formatted_body: part.html } : {}),
            ...relatesTo(thread, firstId ? "" : m.replyToId),
          });
          firstId ||= id;
        }
        for (const a of m.attachments) {
          if (a.data.length > manifest.limits.maxAttachmentBytes) {
            throw new Error(`attachment ${a.name} is over the upload cap`);
          }
          const room = client.getRoom(chat);
          if (encrypted(room)) throw new Error(E2EE_REFUSAL);
          const up = await client.uploadContent(
            new Blob([new Uint8Array(a.data)], { type: a.mimeType }),
            { name: a.name, type: a.mimeType },
          );
          const id = await send(chat, "m.room.message", {
            msgtype: a.mimeType.startsWith("image/") ? "m.image" : "m.file",
            body: a.name || "file",
            filename: a.name || "file",
            url: up.content_uri,
            info: { mimetype: a.mimeType, size: a.data.length },
            ...relatesTo(thread, ""),
          });
          firstId ||= id;
        }
        return { ok: true, messageId: firstId, error: "" };
      } catch (e) {
        return { ok: false, messageId: "", error: e instanceof Error ? e.message : String(e) };
      }
    },

    async onTyping(conversationId: string): Promise<void> {
      const { chat } = splitConversation(conversationId);
      if (!client || encrypted(client.getRoom(chat))) return;
      await client.sendTyping(chat, true, 20_000).catch(() => {});
    },

    async onApprovalRequest(request: ApprovalRequestFrame): Promise<ApprovalAnswer> {
      if (!client) return { approved: false, decidedBy: "" };
      const { chat, thread } = splitConversation(request.conversationId);
      const { token: t, answer } = approvals.open(request);
      try {
        const text = `${
          approvalText(request)
        }\n\nReact with ${APPROVE_KEY} to approve or ${DENY_KEY} to deny.`;
        const id = await send(chat, "m.room.message", {
          msgtype: "m.notice",
          body: text,
          ...relatesTo(thread, ""),
        });
        // Reactions come from the room, whatever thread the prompt is in.
        prompts.set(id, { token: t, conversationId: chat });
        // The reactions a user clicks must exist: the bot offers both.
        for (const key of [APPROVE_KEY, DENY_KEY]) {
          await send(chat, "m.reaction", {
            "m.relates_to": { rel_type: "m.annotation", event_id: id, key },
          }).catch(() => {});
        }
        // Clicks are matched against the room id (reactions carry no thread).
        return await answer.finally(() => prompts.delete(id));
      } catch (e) {
        ctx?.log.warn("could not show the approval prompt", { error: String(e) });
        approvals.click(buttonData(t, "deny"), request.conversationId, "");
        return await answer;
      }
    },
  };
}

/** The driver `loadDriver` runs for `matrix`. */
export function createDriver(): ChannelDriver {
  return createMatrixDriver();
}
