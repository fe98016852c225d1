/**
 * Slack (Web API + Socket Mode WebSocket).
 *
 * @module
 */
import { type ChannelManifest, PROXY_ENV } from "../shared/manifest.ts";

/** The Slack adapter's grants and limits. */
export const manifest: ChannelManifest<"slack"> = {
  channel: "slack",
  displayName: "Slack",
  apiHosts: [
    "slack.com:443",
    "wss-primary.slack.com:443",
    "wss-backup.slack.com:443",
    "files.slack.com:443",
  ],
  env: [...PROXY_ENV, "SLACK_API_URL", "SLACK_GROUP_MODE"],
  apiBaseEnv: "SLACK_API_URL",
  credentials: [
    { name: "channel.slack.bot_token", required: true, description: "Bot token (xoxb-...)." },
    {
      name: "channel.slack.app_token",
      required: true,
      description: "App-level token for Socket Mode (xapp-...).",
    },
  ],
  limits: { maxTextChars: 40000, maxAttachmentBytes: 1024 * 1024 * 1024, supportsEdit: true },
  webhook: null,
};
