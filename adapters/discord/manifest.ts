/**
 * Discord (REST + gateway WebSocket).
 *
 * @module
 */
import { type ChannelManifest, PROXY_ENV } from "../shared/manifest.ts";

/** The Discord adapter's grants and limits. */
export const manifest: ChannelManifest<"discord"> = {
  channel: "discord",
  displayName: "Discord",
  apiHosts: ["discord.com:443", "gateway.discord.gg:443", "cdn.discordapp.com:443"],
  env: [...PROXY_ENV, "DISCORD_API_BASE", "DISCORD_GROUP_MODE"],
  apiBaseEnv: "DISCORD_API_BASE",
  credentials: [
    { name: "channel.discord.token", required: true, description: "Bot token (Developer Portal)." },
  ],
  limits: { maxTextChars: 2000, maxAttachmentBytes: 10 * 1024 * 1024, supportsEdit: true },
  webhook: null,
};
