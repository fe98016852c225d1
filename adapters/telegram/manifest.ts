/**
 * Telegram (Bot API over HTTPS long polling).
 *
 * @module
 */
import { type ChannelManifest, PROXY_ENV } from "../shared/manifest.ts";

/** The Telegram adapter's grants and limits. */
export const manifest: ChannelManifest<"telegram"> = {
  channel: "telegram",
  displayName: "Telegram",
  apiHosts: ["api.telegram.org:443"],
  env: [...PROXY_ENV, "TELEGRAM_API_ROOT", "TELEGRAM_GROUP_MODE"],
  apiBaseEnv: "TELEGRAM_API_ROOT",
  credentials: [
    { name: "channel.telegram.token", required: true, description: "Bot token from @BotFather." },
  ],
  limits: { maxTextChars: 4096, maxAttachmentBytes: 50 * 1024 * 1024, supportsEdit: true },
  webhook: null,
};
