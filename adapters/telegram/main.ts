/**
 * The Telegram adapter: grammy over Bot API long polling (no public URL needed).
 *
 * Inbound: direct messages always, group messages only when the bot is @-mentioned or replied
 * to (`TELEGRAM_GROUP_MODE=all` forwards every group message); photos and documents are
 * downloaded within the attachment cap. Outbound: Markdown rendered as Telegram HTML, split at
 * 4096, the first part replying to the question; edits for streamed answers at a bounded rate;
 * files as documents. Approvals: an inline keyboard. 429s wait `retry_after`, 5xx and network
 * errors back off; grammy's poller retries `getUpdates` on its own.
 *
 * Every update is validated with zod before use: the Bot API is external input.
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
import { EditThrottle, sleep, TypingIndicators } from "../shared/pacing.ts";
import type { ChannelDriver, DriverContext } from "../shared/runtime.ts";
import { escapeHtml, formatTelegram } from "./format.ts";
import { manifest } from "./manifest.ts";

/** The Bot API refuses to hand bots files above 20 MB through getFile. */
const GET_FILE_MAX = 20 * 1024 * 1024;

const User = z.object({
  id: z.number().int(),
  is_bot: z.boolean(),
  first_name: z.string().default(""),
  username: z.string().optional(),
});
const Chat = z.object({
  id: z.number().int(),
  type: z.enum(["private", "group", "supergroup", "channel"]),
});
const Entity = z.object({
  type: z.string(),
  offset: z.number().int().min(0),
  length: z.number().int().min(0),
  user: User.optional(),
});
const FileRef = z.object({
  file_id: z.string().min(1).max(512),
  file_size: z.number().int().min(0).optional(),
});
/** The parts of a Telegram `Message` the adapter reads. */
export const TelegramMessage = z.object({
  message_id: z.number().int(),
  from: User.optional(),
  chat: Chat,
  date: z.number().int(),
  text: z.string().max(65536).optional(),
  caption: z.string().max(65536).optional(),
  entities: z.array(Entity).max(1000).optional(),
  caption_entities: z.array(Entity).max(1000).optional(),
  message_thread_id: z.number().int().optional(),
  is_topic_message: z.boolean().optional(),
  reply_to_message: z.object({ message_id: z.number().int(), from: User.optional() }).optional(),
  photo: z.array(FileRef).max(20).optional(),
  document: FileRef.extend({
    file_name: z.string().max(1024).optional(),
    mime_type: z.string().max(256).optional(),
  }).optional(),
});
/** A parsed Telegram message. */
export type TelegramMessage = z.infer<typeof TelegramMessage>;

const CallbackQuery = z.object({
  id: z.string(),
  from: User,
  data: z.string().max(256).optional(),
  message: z.object({
    message_id: z.number().int(),
    chat: Chat,
    message_thread_id: z.number().int().optional(),
    is_topic_message: z.boolean().optional(),
  }).optional(),
});

const ApiError = z.object({
  ok: z.literal(false),
  error_code: z.number().int().optional(),
  description: z.string().optional(),
  parameters: z.object({ retry_after: z.number().optional() }).optional(),
});

function conversationOf(
  m: { chat: { id: number }; is_topic_message?: boolean; message_thread_id?: number },
): string {
  return joinConversation(String(m.chat.id), m.is_topic_message ? m.message_thread_id : null);
}

/** Facts about a message relative to the bot; exported for tests. */
export function addressFacts(
  m: TelegramMessage,
  bot: { id: number; username: string },
): { isGroup: boolean; mentioned: boolean; repliedToBot: boolean; fromBot: boolean } {
  const text = m.text ?? m.caption ?? "";
  const entities = m.entities ?? m.caption_entities ?? [];
  const handle = `@${bot.username}`.toLowerCase();
  const mentioned = entities.some((e) => {
    const piece = text.slice(e.offset, e.offset + e.length).toLowerCase();
    if (e.type === "mention") return piece === handle;
    if (e.type === "text_mention") return e.user?.id === bot.id;
    if (e.type === "bot_command") return piece.endsWith(handle);
    return false;
  });
  return {
    isGroup: m.chat.type !== "private",
    mentioned,
    repliedToBot: m.reply_to_message?.from?.id === bot.id,
    fromBot: m.from?.is_bot ?? true,
  };
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Creates the Telegram driver. */
export function createTelegramDriver(): ChannelDriver {
  const buttons = new ApprovalButtons();
  const throttle = new EditThrottle(1000);
  let typing: TypingIndicators | null = null;
  let stopBot: (() => Promise<void>) | null = null;
  let api: {
    send(chat: string, text: string, extra: Record<string, unknown>): Promise<number>;
    edit(chat: string, id: number, text: string, extra: Record<string, unknown>): Promise<void>;
    document(
      chat: string,
      data: Uint8Array,
      name: string,
      thread: number | undefined,
    ): Promise<number>;
    action(chat: string, thread: number | undefined): Promise<void>;
  } | null = null;
  let log: DriverContext["log"] | null = null;

  /** Sends HTML; if Telegram cannot parse it (should not happen), sends it as plain text. */
  async function sendHtml(chat: string, html: string, extra: Record<string, unknown>) {
    if (!api) throw new Error("the Telegram adapter is not started");
    try {
      return await api.send(chat, html, { ...extra, parse_mode: "HTML" });
    } catch (e) {
      if (!/can't parse entities/i.test(String(e))) throw e;
      log?.warn("Telegram could not parse our HTML; sending plain text");
      return await api.send(chat, html.replace(/<[^>]+>/g, ""), extra);
    }
  }

  return {
    async start(ctx) {
      log = ctx.log;
      prepareNodeLibraries(manifest.env);
      const token = ctx.credentials.get("channel.telegram.token");
      if (!token) {
        throw new Error("channel.telegram.token is missing; run `wirken channel add telegram`");
      }
      const apiRoot = (readEnv("TELEGRAM_API_ROOT") ?? "https://api.telegram.org").replace(
        /\/+$/,
        "",
      );
      const groupModeEnv = readEnv("TELEGRAM_GROUP_MODE");
      const { Bot, InputFile } = await import("grammy");
      const bot = new Bot(token.reveal(), { client: { apiRoot } });

      // One retry policy for every call but getUpdates (grammy's poller has its own).
      bot.api.config.use(async (prev, method, payload, signal) => {
        for (let attempt = 1;; attempt++) {
          let res;
          try {
            res = await prev(method, payload, signal);
          } catch (e) {
            if (method === "getUpdates" || attempt >= 5 || ctx.signal.aborted) throw e;
            ctx.log.warn("Telegram unreachable; retrying", { method, attempt });
            await sleep(500 * 2 ** attempt, ctx.signal);
            continue;
          }
          const err = ApiError.safeParse(res);
          if (!err.success || method === "getUpdates" || attempt >= 5) return res;
          const code = err.data.error_code ?? 0;
          if (code === 429) {
            const wait = (err.data.parameters?.retry_after ?? 1) * 1000;
            if (wait > 60_000) return res;
            ctx.log.warn("Telegram rate limit; waiting", { method, retryAfterMs: wait });
            await sleep(wait, ctx.signal);
          } else if (code >= 500) {
            await sleep(500 * 2 ** attempt, ctx.signal);
          } else {
            return res;
          }
        }
      });

      api = {
        async send(chat, text, extra) {
          return (await bot.api.sendMessage(chat, text, extra)).message_id;
        },
        async edit(chat, id, text, extra) {
          await bot.api.editMessageText(chat, id, text, extra);
        },
        async document(chat, data, name, thread) {
          const sent = await bot.api.sendDocument(chat, new InputFile(data, name), {
            message_thread_id: thread,
          });
          return sent.message_id;
        },
        async action(chat, thread) {
          await bot.api.sendChatAction(chat, "typing", { message_thread_id: thread });
        },
      };
      typing = new TypingIndicators((conv) => {
        const { chat, thread } = splitConversation(conv);
        return api!.action(chat, thread ? Number(thread) : undefined);
      });

      await bot.init();
      const me = { id: bot.botInfo.id, username: bot.botInfo.username };
      ctx.log.info("connected to Telegram", { bot: me.username });

      async function download(fileId: string, maxBytes: number): Promise<Uint8Array> {
        const file = await bot.api.getFile(fileId);
        if (!file.file_path) throw new Error("Telegram gave no file path");
        // The file URL contains the token: it is used here and never forwarded or logged.
        return await downloadCapped(
          `${apiRoot}/file/bot${token!.reveal()}/${file.file_path}`,
          Math.min(maxBytes, GET_FILE_MAX),
        );
      }

      bot.on("message", async (c) => {
        const parsed = TelegramMessage.safeParse(c.update.message);
        if (!parsed.success) return ctx.log.debug("ignored an unreadable Telegram message");
        const m = parsed.data;
        if (!m.from) return;
        const facts = addressFacts(m, me);
        const conversationId = conversationOf(m);
        if (!shouldAnswer(facts, groupModeFor(ctx, conversationId, groupModeEnv))) return;
        const files: PendingFile[] = [];
        if (m.photo && m.photo.length > 0) {
          const best = m.photo[m.photo.length - 1];
          files.push({
            name: `photo_${m.message_id}.jpg`,
            size: best.file_size,
            load: async (max) =>
              inlineAttachment(
                `photo_${m.message_id}.jpg`,
                "image/jpeg",
                await download(best.file_id, max),
              ),
          });
        }
        if (m.document) {
          const d = m.document;
          const name = d.file_name ?? `file_${m.message_id}`;
          files.push({
            name,
            size: d.file_size,
            load: async (max) =>
              inlineAttachment(name, d.mime_type ?? "", await download(d.file_id, max)),
          });
        }
        const { attachments, skipped } = await collectAttachments(
          files,
          Math.min(INLINE_MAX_BYTES, manifest.limits.maxAttachmentBytes),
        );
        const thread = m.is_topic_message ? m.message_thread_id : undefined;
        if (skipped.length > 0) {
          // Nothing the user sent vanishes silently.
          await sendHtml(String(m.chat.id), escapeHtml(`Not received: ${skipped.join(", ")}.`), {
            reply_parameters: { message_id: m.message_id, allow_sending_without_reply: true },
            message_thread_id: thread,
          }).catch(() => {});
        }
        const raw = m.text ?? m.caption ?? "";
        const text = facts.isGroup ? stripMention(raw, `@${me.username}`) : raw;
        if (!text && attachments.length === 0) return;
        const metadata: Record<string, string> = {
          [META.reason]: !facts.isGroup ? "dm" : facts.mentioned ? "mention" : "reply",
        };
        if (thread !== undefined) metadata[META.thread] = String(thread);
        if (skipped.length > 0) metadata[META.skipped] = skipped.join("; ").slice(0, 1000);
        const inbound: InboundInput = {
          id: String(m.message_id),
          senderId: String(m.from.id),
          senderName: m.from.username ?? m.from.first_name,
          conversationId,
          text,
          timestamp: m.date * 1000,
          isGroup: facts.isGroup,
          replyToId: m.reply_to_message ? String(m.reply_to_message.message_id) : "",
          attachments,
          metadata,
        };
        // Typing starts when the gateway accepts the message (a `typing` frame), never for a
        // sender the allow-list refuses.
        await ctx.sendInbound(inbound);
      });

      bot.on("callback_query:data", async (c) => {
        const parsed = CallbackQuery.safeParse(c.update.callback_query);
        if (!parsed.success || !parsed.data.message || !parsed.data.data) {
          await c.answerCallbackQuery().catch(() => {});
          return;
        }
        const q = parsed.data;
        const result = buttons.click(q.data!, conversationOf(q.message!), String(q.from.id));
        await c.answerCallbackQuery({
          text: result ? `Sent: ${result.decision}` : "This request is no longer open.",
        }).catch(() => {});
      });

      bot.catch((e) => ctx.log.warn("Telegram update failed", { error: String(e.error) }));
      stopBot = () => bot.stop();
      ctx.signal.addEventListener("abort", () => bot.stop().catch(() => {}), { once: true });
      // Resolves when stopped; rejects on 401 (token revoked) or 409 (another poller): both
      // need a human, and the supervisor shows the error.
      await bot.start({ allowed_updates: ["message", "callback_query"] });
    },

    async stop() {
      typing?.close();
      buttons.close();
      await stopBot?.().catch(() => {});
    },

    async onOutbound(m: OutboundFields): Promise<OutboundResult> {
      if (!api) return { ok: false, messageId: "", error: "the Telegram adapter is not started" };
      typing?.stop(m.conversationId);
      const { chat, thread } = splitConversation(m.conversationId);
      const threadId = thread ? Number(thread) : undefined;
      const parts = m.text ? formatTelegram(m.text, manifest.limits.maxTextChars) : [];
      let first = "";
      let rest = parts;
      if (m.editId) {
        // A streamed preview becomes the answer's first part; the other parts follow it.
        await throttle.turn(m.editId);
        await api.edit(chat, Number(m.editId), parts[0] ?? "…", { parse_mode: "HTML" });
        first = m.editId;
        rest = parts.slice(1);
      }
      for (const [i, part] of rest.entries()) {
        const id = await sendHtml(chat, part, {
          message_thread_id: threadId,
          link_preview_options: { is_disabled: true },
          ...(i === 0 && !m.editId && m.replyToId && /^\d+$/.test(m.replyToId)
            ? {
              reply_parameters: {
                message_id: Number(m.replyToId),
                allow_sending_without_reply: true,
              },
            }
            : {}),
        });
        if (!first) first = String(id);
      }
      for (const a of m.attachments) {
        if (a.data.length === 0) continue;
        const id = await api.document(chat, a.data, a.name || "file", threadId);
        if (!first) first = String(id);
      }
      return { ok: true, messageId: first, error: "" };
    },

    onTyping(conversationId: string) {
      typing?.start(conversationId);
    },

    async onApprovalRequest(request: ApprovalRequestFrame): Promise<ApprovalAnswer> {
      if (!api) return { approved: false, decidedBy: "" };
      const { chat, thread } = splitConversation(request.conversationId);
      const { token, answer } = buttons.open(request);
      const text = escapeHtml(approvalText(request));
      const id = await sendHtml(chat, text, {
        message_thread_id: thread ? Number(thread) : undefined,
        reply_markup: {
          inline_keyboard: [[
            { text: "Approve", callback_data: buttonData(token, "approve") },
            { text: "Deny", callback_data: buttonData(token, "deny") },
          ]],
        },
      });
      const result = await answer;
      const outcome = result.decidedBy
        ? `${result.approved ? "Approve" : "Deny"} pressed by ${result.decidedBy}.`
        : "No answer in time.";
      // The buttons go away once used, so the prompt cannot be pressed twice.
      await api.edit(chat, id, `${text}\n\n${escapeHtml(outcome)}`, { parse_mode: "HTML" })
        .catch(() => {});
      return result;
    },
  };
}
