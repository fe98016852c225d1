/**
 * The `ChannelManifest`: what one channel's adapter may reach. The supervisor turns it into
 * `deno run` flags (source mode) or Worker permissions (compiled mode), so both paths grant
 * exactly the same things.
 *
 * @module
 */
import type { Channel } from "../../src/config/schema.ts";

/** One credential the channel needs, as named in the vault. */
export interface ManifestCredential {
  /** Vault name, `channel.<channel>.<what>`. */
  name: string;
  /** Absent: the adapter cannot start. */
  required: boolean;
  description: string;
}

/** Platform message limits, used by chunking and formatting. */
export interface MessageLimits {
  /** Longest text of one message, in characters. */
  maxTextChars: number;
  /** Largest upload. */
  maxAttachmentBytes: number;
  /** The platform can edit a sent message (streamed replies). */
  supportsEdit: boolean;
}

/** Everything the supervisor and the adapter need to know about one channel. */
export interface ChannelManifest<C extends Channel = Channel> {
  channel: C;
  displayName: string;
  /** `host:port` the adapter may connect to; nothing else is reachable. */
  apiHosts: readonly string[];
  /**
   * Environment variables the adapter may read (non-secret settings such as proxies or an API
   * base override for tests). Secrets never travel by environment.
   */
  env: readonly string[];
  /**
   * An env variable holding an API base URL override (local fake servers in tests, self-hosted
   * servers); when set, its `host:port` is added to the net grant.
   */
  apiBaseEnv?: string;
  credentials: readonly ManifestCredential[];
  limits: MessageLimits;
  /** Webhook channels receive on a loopback port; `null` for outbound-only connections. */
  webhook: { portEnv: string; defaultPort: number } | null;
}

/** Proxy variables every adapter may read, so HTTPS works behind a corporate proxy. */
export const PROXY_ENV = ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"] as const;
