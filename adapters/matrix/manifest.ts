/**
 * Matrix (client-server API against one homeserver).
 *
 * @module
 */
import { type ChannelManifest, PROXY_ENV } from "../shared/manifest.ts";

/** The Matrix adapter's grants and limits. */
export const manifest: ChannelManifest<"matrix"> = {
  channel: "matrix",
  displayName: "Matrix",
  // The default homeserver; MATRIX_HOMESERVER_URL points at another and replaces the grant.
  apiHosts: ["matrix-client.matrix.org:443"],
  // MATRIX_ALLOWED_INVITERS: the channel's allow-list, set by the gateway from config, so the
  // adapter joins rooms only on invites from those senders.
  env: [...PROXY_ENV, "MATRIX_HOMESERVER_URL", "MATRIX_ALLOWED_INVITERS", "MATRIX_GROUP_MODE"],
  apiBaseEnv: "MATRIX_HOMESERVER_URL",
  credentials: [
    { name: "channel.matrix.access_token", required: true, description: "Bot account token." },
    { name: "channel.matrix.user_id", required: true, description: "@bot:example.org" },
  ],
  // Matrix events are capped at 65,536 bytes; 32,000 characters leaves room for the envelope.
  limits: { maxTextChars: 32000, maxAttachmentBytes: 50 * 1024 * 1024, supportsEdit: true },
  webhook: null,
};
