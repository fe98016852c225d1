/**
 * Microsoft Teams (Bot Framework: inbound webhook on loopback, outbound REST).
 *
 * @module
 */
import { type ChannelManifest, PROXY_ENV } from "../shared/manifest.ts";

/** The Teams adapter's grants and limits. */
export const manifest: ChannelManifest<"teams"> = {
  channel: "teams",
  displayName: "Microsoft Teams",
  apiHosts: [
    "login.microsoftonline.com:443",
    "login.botframework.com:443",
    "api.botframework.com:443",
    "smba.trafficmanager.net:443",
  ],
  // TEAMS_SERVICE_URL / TEAMS_OPENID_URL / TEAMS_AUTH_URL point at a Bot Framework emulator
  // (tests); the net grant adds TEAMS_SERVICE_URL's host only, so all three must share it.
  env: [
    ...PROXY_ENV,
    "TEAMS_LISTEN_PORT",
    "TEAMS_SERVICE_URL",
    "TEAMS_OPENID_URL",
    "TEAMS_AUTH_URL",
    "TEAMS_GROUP_MODE",
  ],
  apiBaseEnv: "TEAMS_SERVICE_URL",
  credentials: [
    { name: "channel.teams.app_id", required: true, description: "Azure bot app id." },
    { name: "channel.teams.app_password", required: true, description: "Azure bot client secret." },
    {
      name: "channel.teams.tenant_id",
      required: false,
      description: "Tenant id for single-tenant bots.",
    },
  ],
  limits: { maxTextChars: 28000, maxAttachmentBytes: 4 * 1024 * 1024, supportsEdit: true },
  webhook: { portEnv: "TEAMS_LISTEN_PORT", defaultPort: 3978 },
};
