/**
 * Channel settings from config.json that an adapter needs but cannot read itself (an adapter
 * reads no files but its socket): they reach it as environment variables named in its
 * manifest (`env`), through the supervisor, which also derives the net grant from them (a
 * Matrix homeserver's host). Secrets never travel this way; they go over stdin.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";

/** The environment variables `config` sets for the adapters (non-secret). */
export function channelSettingsEnv(config: Pick<Config, "channels">): Record<string, string> {
  const env: Record<string, string> = {};
  const matrix = config.channels.matrix;
  if (matrix) {
    if (matrix.homeserver) env.MATRIX_HOMESERVER_URL = matrix.homeserver;
    // The adapter joins rooms only on invites from these senders (the same allow-list the
    // router applies to messages).
    env.MATRIX_ALLOWED_INVITERS = matrix.allowFrom.join(",");
  }
  const teams = config.channels.teams?.listenPort;
  if (teams) env.TEAMS_LISTEN_PORT = String(teams);
  const whatsapp = config.channels.whatsapp?.listenPort;
  if (whatsapp) env.WHATSAPP_LISTEN_PORT = String(whatsapp);
  return env;
}

/** The supervisor's environment: the gateway's own, with the config's channel settings on top. */
export function supervisorEnv(
  config: Pick<Config, "channels">,
  processEnv: Record<string, string>,
): Record<string, string> {
  return { ...processEnv, ...channelSettingsEnv(config) };
}
