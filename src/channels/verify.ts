/**
 * Live token checks for `wirken channel add`: one cheap, read-only call per platform
 * (Telegram `getMe`, Discord `users/@me`, Slack `auth.test` plus `apps.connections.open` for
 * the Socket Mode token; Matrix, Teams and WhatsApp in verify_part2.ts), so a mistyped token
 * fails at add time with a clear message instead of as a crash loop in `wirken run`. Responses
 * are validated with zod (external input).
 *
 * The same API base overrides as the adapters (`TELEGRAM_API_ROOT`, `DISCORD_API_BASE`,
 * `SLACK_API_URL`) point the checks at a test server or a self-hosted endpoint.
 *
 * @module
 */
import { z } from "zod";
import type { Channel } from "../config/schema.ts";
import { WirkenError } from "../errors.ts";
import type { Secret } from "../secret.ts";

/** What the platform says the bot is. */
export interface BotIdentity {
  /** The bot's own user id on the platform. */
  id: string;
  /** Its display handle (`@name`, team name), for messages. */
  name: string;
}

/** The token was refused or the platform could not be reached. */
export class ChannelCheckError extends WirkenError {}

/** Options of {@linkcode verifyChannel}. */
export interface VerifyOptions {
  env: { get(name: string): string | undefined };
  fetchFn?: typeof fetch;
  timeoutMs?: number;
}

/**
 * One request to a platform's API for a credential check: time-capped, a network failure
 * becomes a {@linkcode ChannelCheckError}, the body is parsed as JSON when it is JSON (the
 * caller's schema reports anything else). Shared by every channel's check.
 */
export async function call(
  o: VerifyOptions,
  platform: string,
  url: string,
  init: RequestInit,
): Promise<{ status: number; body: unknown }> {
  let res: Response;
  try {
    res = await (o.fetchFn ?? fetch)(url, {
      ...init,
      signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
    });
  } catch (e) {
    throw new ChannelCheckError(
      `Could not reach ${platform} to check the credentials: ${e instanceof Error ? e.message : e}`,
      { fix: "Check the network (or a proxy), then run the command again." },
    );
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON: handled by the schema check below */ }
  return { status: res.status, body };
}

const TelegramMe = z.object({
  ok: z.literal(true),
  result: z.object({ id: z.number().int(), username: z.string().min(1) }),
});
const DiscordMe = z.object({ id: z.string().min(1), username: z.string().min(1) });
const SlackAuth = z.object({
  ok: z.literal(true),
  user_id: z.string().min(1),
  user: z.string().optional(),
  team: z.string().optional(),
});
const SlackError = z.object({ ok: z.literal(false), error: z.string().max(200) });

/**
 * Checks `secrets` (by vault name) against `channel`'s platform. Returns the bot's identity,
 * or `null` for a channel without a live check. Throws {@linkcode ChannelCheckError}.
 */
export async function verifyChannel(
  channel: Channel,
  secrets: ReadonlyMap<string, Secret>,
  o: VerifyOptions,
): Promise<BotIdentity | null> {
  const need = (what: string): string => {
    const s = secrets.get(`channel.${channel}.${what}`);
    if (!s) throw new ChannelCheckError(`channel.${channel}.${what} was not given.`);
    return s.reveal();
  };
  switch (channel) {
    case "telegram": {
      const root = (o.env.get("TELEGRAM_API_ROOT") ?? "https://api.telegram.org").replace(
        /\/+$/,
        "",
      );
      const r = await call(o, "Telegram", `${root}/bot${need("token")}/getMe`, {});
      const me = TelegramMe.safeParse(r.body);
      if (!me.success) {
        throw new ChannelCheckError(
          `Telegram refused the bot token (HTTP ${r.status}${
            r.status === 401 || r.status === 404 ? ", unauthorized" : ""
          }).`,
          { fix: "Copy the token again from @BotFather (/token) and run the command again." },
        );
      }
      return { id: String(me.data.result.id), name: `@${me.data.result.username}` };
    }
    case "discord": {
      const base = (o.env.get("DISCORD_API_BASE") ?? "https://discord.com/api").replace(
        /\/+$/,
        "",
      );
      const r = await call(o, "Discord", `${base}/v10/users/@me`, {
        headers: { Authorization: `Bot ${need("token")}` },
      });
      const me = DiscordMe.safeParse(r.body);
      if (r.status !== 200 || !me.success) {
        throw new ChannelCheckError(`Discord refused the bot token (HTTP ${r.status}).`, {
          fix:
            "Reset and copy the token under Developer Portal > your app > Bot, then run the command again.",
        });
      }
      return { id: me.data.id, name: me.data.username };
    }
    case "slack": {
      const base = (o.env.get("SLACK_API_URL") ?? "https://slack.com/api/").replace(/\/*$/, "/");
      const r = await call(o, "Slack", `${base}auth.test`, {
        method: "POST",
        headers: { Authorization: `Bearer ${need("bot_token")}` },
      });
      const auth = SlackAuth.safeParse(r.body);
      if (!auth.success) {
        const err = SlackError.safeParse(r.body);
        throw new ChannelCheckError(
          `Slack refused the bot token (${err.success ? err.data.error : `HTTP ${r.status}`}).`,
          { fix: "Copy the Bot User OAuth Token (xoxb-...) from your app's OAuth & Permissions." },
        );
      }
      const a = await call(o, "Slack", `${base}apps.connections.open`, {
        method: "POST",
        headers: { Authorization: `Bearer ${need("app_token")}` },
      });
      const open = z.object({ ok: z.literal(true) }).safeParse(a.body);
      if (!open.success) {
        const err = SlackError.safeParse(a.body);
        throw new ChannelCheckError(
          `Slack refused the app-level token (${
            err.success ? err.data.error : `HTTP ${a.status}`
          }).`,
          {
            fix:
              "Enable Socket Mode and create an app-level token (xapp-...) with connections:write.",
          },
        );
      }
      return { id: auth.data.user_id, name: auth.data.user ?? auth.data.team ?? "slack bot" };
    }
    case "matrix":
    case "teams":
    case "whatsapp":
      return await (await import("./verify_part2.ts")).verifyPart2(channel, secrets, o);
    default:
      return null;
  }
}
