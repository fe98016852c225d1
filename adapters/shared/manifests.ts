/**
 * Every channel's manifest, and the grants computed from one. Manifests are plain data, so
 * importing all six is cheap (no chat library is loaded).
 *
 * @module
 */
import type { Channel } from "../../src/config/schema.ts";
import type { Grants } from "../../src/ipc/bundle.ts";
import { manifest as discord } from "../discord/manifest.ts";
import { manifest as matrix } from "../matrix/manifest.ts";
import { manifest as slack } from "../slack/manifest.ts";
import { manifest as teams } from "../teams/manifest.ts";
import { manifest as telegram } from "../telegram/manifest.ts";
import { manifest as whatsapp } from "../whatsapp/manifest.ts";
import type { ChannelManifest } from "./manifest.ts";

/** The manifest of each channel. */
export const MANIFESTS: { readonly [C in Channel]: ChannelManifest<C> } = {
  telegram,
  discord,
  slack,
  teams,
  matrix,
  whatsapp,
};

/** `host:port` of a URL, with the scheme's default port filled in; `null` if not a URL. */
export function hostPort(url: string): string | null {
  try {
    const u = new URL(url);
    const port = u.port || (u.protocol === "https:" || u.protocol === "wss:" ? "443" : "80");
    return `${u.hostname}:${port}`;
  } catch {
    return null;
  }
}

/**
 * The grants of `channel`'s adapter: its manifest's hosts (plus an API base override read from
 * `env`, plus the loopback webhook port), the gateway socket (net, read and write of that one
 * path), and its manifest's env names. Nothing else: no run, ffi, sys, or other files.
 */
export function adapterGrants(
  channel: Channel,
  socketPath: string,
  env: { get(name: string): string | undefined },
): Grants {
  const m: ChannelManifest = MANIFESTS[channel];
  const net = new Set<string>(m.apiHosts);
  if (m.apiBaseEnv) {
    const override = env.get(m.apiBaseEnv);
    const hp = override ? hostPort(override) : null;
    if (hp) {
      // A custom homeserver / fake server replaces the default host rather than adding to it.
      if (channel === "matrix") net.clear();
      net.add(hp);
    }
  }
  if (m.webhook) {
    const port = Number(env.get(m.webhook.portEnv) ?? m.webhook.defaultPort);
    if (Number.isInteger(port) && port > 0 && port < 65536) net.add(`127.0.0.1:${port}`);
  }
  net.add(`unix:${socketPath}`);
  // Deno 2 wants read+write of the socket path itself to connect. Only that path: the socket
  // directory also holds status.json, which an adapter must neither read nor forge.
  return { net: [...net], read: [socketPath], write: [socketPath], env: [...m.env] };
}
