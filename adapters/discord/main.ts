/**
 * The Discord adapter: discord.js over the gateway WebSocket (intents: guilds, guild and
 * direct messages, MessageContent). discord.js keeps the connection (heartbeats, resume,
 * reconnect) and its REST client handles 429 buckets and 5xx retries; this driver reads the
 * raw dispatches (validated with zod) and talks REST directly; its channel cache only tells
 * which channel a thread belongs to.
 *
 * Inbound: DMs always, guild messages only when the bot is mentioned or replied to
 * (`DISCORD_GROUP_MODE=all` forwards all); threads are channels, so a thread is its own
 * conversation, and without a rule of its own it follows its parent channel's. Outbound:
 * escaped Discord markdown split at 2000, `allowed_mentions` empty so nobody is ever pinged, the first part replying to the question. Approvals: buttons
 * (message components), answered through interactions.
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
  type GroupMode,
  groupModeFor,
  META,
  shouldAnswer,
  stripMention,
} from "../shared/conventions.ts";
import { prepareNodeLibraries } from "../shared/node_shim.ts";
import { EditThrottle, TypingIndicators } from "../shared/pacing.ts";
import type { ChannelDriver, DriverContext } from "../shared/runtime.ts";
import { escapeDiscord, formatDiscord } from "./format.ts";
import { manifest } from "./manifest.ts";

const Snowflake = z.string().regex(/^\d{1,25}$/);
const User = z.object({
  id: Snowflake,
  username: z.string().max(100),
  bot: z.boolean().optional(),
  global_name: z.string().max(100).nullish(),
});
/** The parts of a MESSAGE_CREATE the adapter reads. */
export const DiscordMessage = z.object({
  id: Snowflake,
  channel_id: Snowflake,
  guild_id: Snowflake.optional(),
  author: User,
  content: z.string().max(8000),
  timestamp: z.string().optional(),
  mentions: z.array(User.partial({ username: true })).max(200).default([]),
  mention_everyone: z.boolean().optional(),
  referenced_message: z.object({ id: Snowflake, author: User }).nullish(),
  attachments: z.array(z.object({
    id: Snowflake,
    filename: z.string().max(1024),
    size: z.number().int().min(0),
    url: z.string().url(),
    content_type: z.string().max(256).optional(),
  })).max(10).default([]),
  webhook_id: Snowflake.optional(),
});
/** A parsed Discord message. */
export type DiscordMessage = z.infer<typeof DiscordMessage>;

const Interaction = z.object({
  id: Snowflake,
  token: z.string().min(1).max(1000),
  type: z.number().int(),
  channel_id: Snowflake,
  data: z.object({ custom_id: z.string().max(100) }).optional(),
  member: z.object({ user: User }).optional(),
  user: User.optional(),
});

const Raw = z.object({ t: z.string().nullable().optional(), d: z.unknown() });
const SentMessage = z.object({ id: Snowflake });

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

interface Rest {
  post(route: `/${string}`, options: Record<string, unknown>): Promise<unknown>;
  patch(route: `/${string}`, options: Record<string, unknown>): Promise<unknown>;
}

/** Creates the Discord driver. */
export function createDiscordDriver(): ChannelDriver {
  const buttons = new ApprovalButtons();
  const throttle = new EditThrottle(1000);
  let typing: TypingIndicators | null = null;
  let rest: Rest | null = null;
  let destroy: (() => Promise<void>) | null = null;
  let log: DriverContext["log"] | null = null;

  async function post(channelId: string, body: Record<string, unknown>, files?: unknown[]) {
    if (!rest) throw new Error("the Discord adapter is not started");
    const sent = SentMessage.parse(
      await rest.post(`/channels/${channelId}/messages`, {
        body: { ...body, allowed_mentions: { parse: [] } },
        ...(files ? { files } : {}),
      }),
    );
    return sent.id;
  }

  return {
    async start(ctx) {
      log = ctx.log;
      prepareNodeLibraries(manifest.env);
      const token = ctx.credentials.get("channel.discord.token");
      if (!token) {
        throw new Error("channel.discord.token is missing; run `wirken channel add discord`");
      }
      const apiBase = (readEnv("DISCORD_API_BASE") ?? "https://discord.com/api").replace(
        /\/+$/,
        "",
      );
      const groupModeEnv = readEnv("DISCORD_GROUP_MODE");
      const { Client, GatewayIntentBits, Partials, Events } = await import("discord.js");
      const client = new Client({
        intents: [
          GatewayIntentBits.Guilds,
          GatewayIntentBits.GuildMessages,
          GatewayIntentBits.DirectMessages,
          GatewayIntentBits.MessageContent,
        ],
        partials: [Partials.Channel],
        rest: { api: apiBase, retries: 3 },
      });
      rest = client.rest as unknown as Rest;
      typing = new TypingIndicators((conv) => rest!.post(`/channels/${conv}/typing`, {}), 8000);
      destroy = () => client.destroy();
      let me = { id: "", username: "" };

      /** A thread's parent channel, from discord.js's cache (GUILD_CREATE, THREAD_CREATE). */
      function parentOf(channelId: string): string | undefined {
        const channel = client.channels.cache.get(channelId);
        return channel?.isThread() ? channel.parentId ?? undefined : undefined;
      }

      async function onMessage(raw: unknown): Promise<void> {
        const parsed = DiscordMessage.safeParse(raw);
        if (!parsed.success) return ctx.log.debug("ignored an unreadable Discord message");
        const m = parsed.data;
        const facts = {
          isGroup: m.guild_id !== undefined,
          // @everyone is not a mention of the bot.
          mentioned: m.mentions.some((u) => u.id === me.id),
          repliedToBot: m.referenced_message?.author.id === me.id,
          fromBot: m.author.bot === true || m.webhook_id !== undefined || m.author.id === me.id,
        };
        const mode = threadGroupMode(ctx, m.channel_id, parentOf(m.channel_id), groupModeEnv);
        if (!shouldAnswer(facts, mode)) return;
        const files: PendingFile[] = m.attachments.map((a) => ({
          name: a.filename,
          size: a.size,
          load: async (max) =>
            inlineAttachment(a.filename, a.content_type ?? "", await downloadCapped(a.url, max)),
        }));
        const { attachments, skipped } = await collectAttachments(
          files,
          Math.min(INLINE_MAX_BYTES, manifest.limits.maxAttachmentBytes),
        );
        if (skipped.length > 0) {
          await post(m.channel_id, {
            content: escapeDiscord(`Not received: ${skipped.join(", ")}.`),
            message_reference: { message_id: m.id, fail_if_not_exists: false },
          }).catch(() => {});
        }
        const text = stripMention(m.content, new RegExp(`^\\s*<@!?${me.id}>[\\s,:]*`));
        if (!text && attachments.length === 0) return;
        const metadata: Record<string, string> = {
          [META.reason]: !facts.isGroup ? "dm" : facts.mentioned ? "mention" : "reply",
        };
        if (skipped.length > 0) metadata[META.skipped] = skipped.join("; ").slice(0, 1000);
        const inbound: InboundInput = {
          id: m.id,
          senderId: m.author.id,
          senderName: m.author.global_name ?? m.author.username,
          conversationId: m.channel_id,
          text,
          timestamp: m.timestamp ? Date.parse(m.timestamp) || Date.now() : Date.now(),
          isGroup: facts.isGroup,
          replyToId: m.referenced_message?.id ?? "",
          attachments,
          metadata,
        };
        // Typing starts when the gateway accepts the message (a `typing` frame), never for a
        // sender the allow-list refuses.
        await ctx.sendInbound(inbound);
      }

      async function onInteraction(raw: unknown): Promise<void> {
        const parsed = Interaction.safeParse(raw);
        if (!parsed.success || parsed.data.type !== 3 || !parsed.data.data) return;
        const i = parsed.data;
        const who = i.member?.user.id ?? i.user?.id ?? "";
        const result = who ? buttons.click(i.data!.custom_id, i.channel_id, who) : null;
        await rest!.post(`/interactions/${i.id}/${i.token}/callback`, {
          auth: false,
          body: result
            // Deferred update: acknowledges the click, the prompt is edited below.
            ? { type: 6 }
            : { type: 4, data: { content: "This request is no longer open.", flags: 64 } },
        }).catch((e) => ctx.log.warn("interaction reply failed", { error: String(e) }));
      }

      client.on(Events.Raw, (packet: unknown) => {
        const p = Raw.safeParse(packet);
        if (!p.success) return;
        const work = p.data.t === "MESSAGE_CREATE"
          ? onMessage(p.data.d)
          : p.data.t === "INTERACTION_CREATE"
          ? onInteraction(p.data.d)
          : null;
        work?.catch((e) => ctx.log.warn("Discord event failed", { error: String(e) }));
      });
      client.on(
        Events.Error,
        (e: Error) => ctx.log.warn("Discord client error", { error: e.message }),
      );
      client.on(Events.ShardDisconnect, () => ctx.log.warn("Discord gateway disconnected"));
      client.on(Events.ShardResume, () => ctx.log.info("Discord gateway resumed"));

      const ready = new Promise<void>((resolve) =>
        client.once(Events.ClientReady, () => resolve())
      );
      await client.login(token.reveal());
      await ready;
      me = { id: client.user!.id, username: client.user!.username };
      ctx.log.info("connected to Discord", { bot: me.username });
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) return resolve();
        ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      await client.destroy();
    },

    async stop() {
      typing?.close();
      buttons.close();
      await destroy?.().catch(() => {});
    },

    async onOutbound(m: OutboundFields): Promise<OutboundResult> {
      if (!rest) return { ok: false, messageId: "", error: "the Discord adapter is not started" };
      typing?.stop(m.conversationId);
      const channel = m.conversationId;
      const parts = m.text ? formatDiscord(m.text, manifest.limits.maxTextChars) : [];
      let first = "";
      let remaining = parts;
      if (m.editId) {
        // A streamed preview becomes the answer's first part; the other parts follow it.
        await throttle.turn(m.editId);
        await rest.patch(`/channels/${channel}/messages/${m.editId}`, {
          body: { content: parts[0] ?? "…", allowed_mentions: { parse: [] } },
        });
        first = m.editId;
        remaining = parts.slice(1);
      }
      for (const [i, content] of remaining.entries()) {
        const id = await post(channel, {
          content,
          ...(i === 0 && !m.editId && /^\d+$/.test(m.replyToId)
            ? { message_reference: { message_id: m.replyToId, fail_if_not_exists: false } }
            : {}),
        });
        first ||= id;
      }
      const files = m.attachments.filter((a) => a.data.length > 0).slice(0, 10);
      if (files.length > 0) {
        const id = await post(channel, {
          attachments: files.map((a, i) => ({ id: i, filename: a.name || `file${i}` })),
        }, files.map((a, i) => ({ name: a.name || `file${i}`, data: a.data })));
        first ||= id;
      }
      return { ok: true, messageId: first, error: "" };
    },

    onTyping(conversationId: string) {
      typing?.start(conversationId);
    },

    async onApprovalRequest(request: ApprovalRequestFrame): Promise<ApprovalAnswer> {
      if (!rest) return { approved: false, decidedBy: "" };
      const { token, answer } = buttons.open(request);
      const content = escapeDiscord(approvalText(request)).slice(0, 1900);
      const id = await post(request.conversationId, {
        content,
        components: [{
          type: 1,
          components: [
            { type: 2, style: 3, label: "Approve", custom_id: buttonData(token, "approve") },
            { type: 2, style: 4, label: "Deny", custom_id: buttonData(token, "deny") },
          ],
        }],
      });
      const result = await answer;
      const outcome = result.decidedBy
        ? `${result.approved ? "Approve" : "Deny"} pressed by <@${result.decidedBy}>.`
        : "No answer in time.";
      await rest.patch(`/channels/${request.conversationId}/messages/${id}`, {
        body: {
          content: `${content}\n\n${outcome}`,
          components: [],
          allowed_mentions: { parse: [] },
        },
      }).catch((e) => log?.warn("could not close the approval prompt", { error: String(e) }));
      return result;
    },
  };
}

/**
 * The mention rule of a Discord channel or thread: its own configured rule, else (a thread,
 * whose id is its own) its parent channel's, else the `DISCORD_GROUP_MODE` default.
 */
export function threadGroupMode(
  ctx: { groupMode?: (conversationId: string) => GroupMode | undefined },
  channelId: string,
  parentId: string | undefined,
  envValue: string | undefined,
): GroupMode {
  const own = ctx.groupMode?.(channelId);
  if (own) return own;
  return groupModeFor(ctx, parentId ?? channelId, envValue);
}
