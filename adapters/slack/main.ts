/**
 * The Slack adapter: @slack/bolt in Socket Mode (a WebSocket the app opens, so no public URL).
 * Bolt's Web API client handles 429 (`Retry-After`) and retries; the Socket Mode client
 * reconnects on its own.
 *
 * Inbound: DMs always; channel messages only when the bot is mentioned or the message is in a
 * thread the bot started (`SLACK_GROUP_MODE=all` forwards all). A channel conversation is the
 * thread (`<channel>/<thread ts>`), so the answer lands in the thread of the question. Files
 * are downloaded with the bot token, only from Slack's own hosts, within the cap. Outbound:
 * escaped mrkdwn split at 4000. Approvals: Block Kit buttons. Slack has no typing indicator for
 * bots, so none is shown.
 *
 * @module
 */
import { z } from "zod";
import type { OutboundFields } from "../../src/ipc/codec.ts";
import type { ApprovalRequestFrame, InboundInput } from "../../src/ipc/client.ts";
import type { ApprovalAnswer, OutboundResult } from "../../src/ipc/session.ts";
import { ApprovalButtons, approvalText, buttonData } from "../shared/approvals.ts";
import {
  collectAttachments,
  downloadCapped,
  INLINE_MAX_BYTES,
  inlineAttachment,
  type PendingFile,
} from "../shared/attachments.ts";
import {
  groupModeFor,
  joinConversation,
  META,
  shouldAnswer,
  splitConversation,
  stripMention,
} from "../shared/conventions.ts";
import { prepareNodeLibraries } from "../shared/node_shim.ts";
import { EditThrottle } from "../shared/pacing.ts";
import type { ChannelDriver, DriverContext } from "../shared/runtime.ts";
import { escapeSlack, formatSlack } from "./format.ts";
import { manifest } from "./manifest.ts";

const Id = z.string().regex(/^[A-Z0-9]{2,32}$/);
const Ts = z.string().regex(/^\d{1,12}\.\d{1,8}$/);
/** The parts of a Slack `message` event the adapter reads. */
export const SlackMessage = z.object({
  type: z.literal("message"),
  subtype: z.string().optional(),
  channel: Id,
  channel_type: z.enum(["im", "mpim", "channel", "group"]).optional(),
  user: Id.optional(),
  bot_id: z.string().optional(),
  text: z.string().max(40_000).default(""),
  ts: Ts,
  thread_ts: Ts.optional(),
  parent_user_id: Id.optional(),
  files: z.array(z.object({
    id: z.string().max(64),
    name: z.string().max(1024).default("file"),
    mimetype: z.string().max(256).default(""),
    size: z.number().int().min(0).optional(),
    url_private_download: z.string().url().optional(),
  })).max(20).default([]),
});
/** A parsed Slack message event. */
export type SlackMessage = z.infer<typeof SlackMessage>;

const BlockAction = z.object({
  type: z.literal("block_actions"),
  user: z.object({ id: Id }),
  channel: z.object({ id: Id }).optional(),
  message: z.object({ ts: Ts, thread_ts: Ts.optional() }).optional(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().max(100).optional() }))
    .min(1).max(5),
});

const Posted = z.object({ ok: z.literal(true), ts: Ts });

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** The bot token is sent only to Slack's own file hosts (or the configured API host). */
export function trustedFileUrl(url: string, apiUrl: string): boolean {
  try {
    const u = new URL(url);
    const api = new URL(apiUrl);
    if (u.host === api.host) return true;
    return u.protocol === "https:" && (u.hostname === "files.slack.com" ||
      u.hostname.endsWith(".slack.com"));
  } catch {
    return false;
  }
}

interface WebClient {
  chat: {
    postMessage(args: Record<string, unknown>): Promise<unknown>;
    update(args: Record<string, unknown>): Promise<unknown>;
  };
  filesUploadV2?(args: Record<string, unknown>): Promise<unknown>;
}

/** Creates the Slack driver. */
export function createSlackDriver(): ChannelDriver {
  const buttons = new ApprovalButtons();
  const throttle = new EditThrottle(1200);
  let client: WebClient | null = null;
  let stopApp: (() => Promise<unknown>) | null = null;
  let log: DriverContext["log"] | null = null;

  async function post(conversationId: string, args: Record<string, unknown>): Promise<string> {
    if (!client) throw new Error("the Slack adapter is not started");
    const { chat, thread } = splitConversation(conversationId);
    const res = Posted.parse(
      await client.chat.postMessage({
        channel: chat,
        ...(thread ? { thread_ts: thread } : {}),
        unfurl_links: false,
        unfurl_media: false,
        ...args,
      }),
    );
    return res.ts;
  }

  return {
    async start(ctx) {
      log = ctx.log;
      prepareNodeLibraries(manifest.env);
      const botToken = ctx.credentials.get("channel.slack.bot_token");
      const appToken = ctx.credentials.get("channel.slack.app_token");
      if (!botToken || !appToken) {
        throw new Error("Slack tokens are missing; run `wirken channel add slack`");
      }
      const apiUrl = (readEnv("SLACK_API_URL") ?? "https://slack.com/api/").replace(/\/*$/, "/");
      const groupModeEnv = readEnv("SLACK_GROUP_MODE");
      const { App, LogLevel } = await import("@slack/bolt");
      const l = ctx.log.child("bolt");
      const logger = {
        debug: (...m: unknown[]) => l.debug(m.map(String).join(" ")),
        info: (...m: unknown[]) => l.debug(m.map(String).join(" ")),
        warn: (...m: unknown[]) => l.warn(m.map(String).join(" ")),
        error: (...m: unknown[]) => l.error(m.map(String).join(" ")),
        setLevel: () => {},
        getLevel: () => LogLevel.INFO,
        setName: () => {},
      };
      const clientOptions = { slackApiUrl: apiUrl };
      const app = new App({
        token: botToken.reveal(),
        appToken: appToken.reveal(),
        socketMode: true,
        clientOptions,
        installerOptions: { clientOptions },
        logger,
      });
      client = app.client as unknown as WebClient;
      stopApp = () => app.stop();
      const auth = z.object({ user_id: Id }).parse(
        await app.client.auth.test({ token: botToken.reveal() }),
      );
      const me = auth.user_id;

      app.event("message", async ({ event }) => {
        const parsed = SlackMessage.safeParse(event);
        if (!parsed.success) return ctx.log.debug("ignored an unreadable Slack message");
        const m = parsed.data;
        if (m.subtype && m.subtype !== "file_share" && m.subtype !== "thread_broadcast") return;
        if (!m.user) return;
        const isGroup = m.channel_type !== "im";
        const facts = {
          isGroup,
          mentioned: m.text.includes(`<@${me}>`),
          repliedToBot: m.parent_user_id === me,
          fromBot: m.bot_id !== undefined || m.user === me,
        };
        // In channels the thread is the conversation, so the answer goes into it.
        const conversationId = isGroup
          ? joinConversation(m.channel, m.thread_ts ?? m.ts)
          : joinConversation(m.channel, m.thread_ts);
        if (!shouldAnswer(facts, groupModeFor(ctx, conversationId, groupModeEnv))) return;
        const files: PendingFile[] = m.files.flatMap((f) => {
          const url = f.url_private_download;
          if (!url || !trustedFileUrl(url, apiUrl)) return [];
          return [{
            name: f.name,
            size: f.size,
            load: async (max: number) =>
              inlineAttachment(
                f.name,
                f.mimetype,
                await downloadCapped(url, max, {
                  headers: { Authorization: `Bearer ${botToken.reveal()}` },
                }),
              ),
          }];
        });
        const { attachments, skipped } = await collectAttachments(
          files,
          Math.min(INLINE_MAX_BYTES, manifest.limits.maxAttachmentBytes),
        );
        if (skipped.length > 0) {
          await post(conversationId, {
            text: escapeSlack(`Not received: ${skipped.join(", ")}.`),
          }).catch(() => {});
        }
        const text = stripMention(m.text, new RegExp(`^\\s*<@${me}>[\\s,:]*`));
        if (!text && attachments.length === 0) return;
        const metadata: Record<string, string> = {
          [META.reason]: !isGroup ? "dm" : facts.mentioned ? "mention" : "reply",
        };
        if (m.thread_ts) metadata[META.thread] = m.thread_ts;
        if (skipped.length > 0) metadata[META.skipped] = skipped.join("; ").slice(0, 1000);
        const inbound: InboundInput = {
          id: m.ts,
          senderId: m.user,
          conversationId,
          text,
          timestamp: Math.round(Number(m.ts) * 1000),
          isGroup,
          replyToId: m.thread_ts ?? "",
          attachments,
          metadata,
        };
        await ctx.sendInbound(inbound);
      });

      app.action(/^wirken_(approve|deny)$/, async ({ ack, body }) => {
        await ack();
        const parsed = BlockAction.safeParse(body);
        if (!parsed.success || !parsed.data.channel || !parsed.data.message) return;
        const b = parsed.data;
        const conversationId = joinConversation(b.channel!.id, b.message!.thread_ts);
        const result = buttons.click(b.actions[0].value ?? "", conversationId, b.user.id);
        if (!result) ctx.log.info("a stale or foreign approval button was pressed");
      });

      app.error((e) => {
        ctx.log.warn("Slack handler failed", { error: e.message });
        return Promise.resolve();
      });
      await app.start();
      ctx.log.info("connected to Slack (Socket Mode)");
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) return resolve();
        ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      await app.stop().catch(() => {});
    },

    async stop() {
      buttons.close();
      await stopApp?.().catch(() => {});
    },

    async onOutbound(m: OutboundFields): Promise<OutboundResult> {
      if (!client) return { ok: false, messageId: "", error: "the Slack adapter is not started" };
      const limit = Math.min(manifest.limits.maxTextChars, 4000);
      const parts = m.text ? formatSlack(m.text, limit) : [];
      let first = "";
      let rest = parts;
      if (m.editId) {
        // A streamed preview becomes the answer's first part; the other parts follow it.
        await throttle.turn(m.editId);
        await client.chat.update({
          channel: splitConversation(m.conversationId).chat,
          ts: m.editId,
          text: parts[0] ?? "…",
        });
        first = m.editId;
        rest = parts.slice(1);
      }
      for (const text of rest) {
        const ts = await post(m.conversationId, { text, mrkdwn: true });
        first ||= ts;
      }
      for (const a of m.attachments) {
        if (a.data.length === 0 || !client.filesUploadV2) continue;
        const { chat, thread } = splitConversation(m.conversationId);
        await client.filesUploadV2({
          channel_id: chat,
          ...(thread ? { thread_ts: thread } : {}),
          file: a.data,
          filename: a.name || "file",
        });
      }
      return { ok: true, messageId: first, error: "" };
    },

    async onApprovalRequest(request: ApprovalRequestFrame): Promise<ApprovalAnswer> {
      if (!client) return { approved: false, decidedBy: "" };
      const { token, answer } = buttons.open(request);
      const text = escapeSlack(approvalText(request)).slice(0, 2900);
      const ts = await post(request.conversationId, {
        text,
        blocks: [
          { type: "section", text: { type: "mrkdwn", text } },
          {
            type: "actions",
            elements: [
              {
                type: "button",
                action_id: "wirken_approve",
                style: "primary",
                text: { type: "plain_text", text: "Approve" },
                value: buttonData(token, "approve"),
              },
              {
                type: "button",
                action_id: "wirken_deny",
                style: "danger",
                text: { type: "plain_text", text: "Deny" },
                value: buttonData(token, "deny"),
              },
            ],
          },
        ],
      });
      const result = await answer;
      const outcome = result.decidedBy
        ? `${result.approved ? "Approve" : "Deny"} pressed by <@${result.decidedBy}>.`
        : "No answer in time.";
      await client.chat.update({
        channel: splitConversation(request.conversationId).chat,
        ts,
        text: `${text}\n\n${outcome}`,
        blocks: [{ type: "section", text: { type: "mrkdwn", text: `${text}\n\n${outcome}` } }],
      }).catch((e) => log?.warn("could not close the approval prompt", { error: String(e) }));
      return result;
    },
  };
}
