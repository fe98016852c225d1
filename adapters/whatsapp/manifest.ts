/**
 * WhatsApp (Cloud API: inbound webhook on loopback, outbound Graph API).
 *
 * @module
 */
import { type ChannelManifest, PROXY_ENV } from "../shared/manifest.ts";

/** The WhatsApp adapter's grants and limits. */
export const manifest: ChannelManifest<"whatsapp"> = {
  channel: "whatsapp",
  displayName: "WhatsApp",
  // Media downloads are served from Meta's CDN host, not the Graph API host.
  apiHosts: ["graph.facebook.com:443", "lookaside.fbsbx.com:443"],
  env: [...PROXY_ENV, "WHATSAPP_LISTEN_PORT", "WHATSAPP_GRAPH_URL"],
  apiBaseEnv: "WHATSAPP_GRAPH_URL",
  credentials: [
    {
      name: "channel.whatsapp.access_token",
      required: true,
      description: "System user access token.",
    },
    {
      name: "channel.whatsapp.app_secret",
      required: true,
      description: "App secret (verifies X-Hub-Signature-256).",
    },
    {
      name: "channel.whatsapp.verify_token",
      required: true,
      description: "Webhook verify token.",
    },
    {
      name: "channel.whatsapp.phone_number_id",
      required: true,
      description: "Sender phone number id.",
    },
  ],
  limits: { maxTextChars: 4096, maxAttachmentBytes: 16 * 1024 * 1024, supportsEdit: false },
  webhook: { portEnv: "WHATSAPP_LISTEN_PORT", defaultPort: 3979 },
};
