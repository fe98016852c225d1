/**
 * The interface other rooms use to read credentials. Rooms receive a `CredentialStore` as an
 * argument (the gateway wires the real vault in), so their tests pass an in-memory fake.
 *
 * @module
 */
import type { Secret } from "../secret.ts";

/** Metadata of one credential; never its value. */
export interface CredentialInfo {
  name: string;
  createdAt: Date;
  updatedAt: Date;
  /** When the credential should be rotated; `null`: never expires. */
  expiresAt: Date | null;
  /** When a rotation is due (a reminder, not a hard stop); absent or `null`: none. */
  rotationDueAt?: Date | null;
  /** Rotation period in days; rotating moves `rotationDueAt` this far ahead. */
  rotationPeriodDays?: number | null;
  /** Last time the gateway read the value; absent or `null`: never (or not tracked). */
  lastUsedAt?: Date | null;
}

/** Options of {@linkcode CredentialStore.set}. */
export interface SetOptions {
  /** Hard expiry: reading it afterwards through `requireCredential` fails. */
  expiresAt?: Date | null;
  /** Reminder date for rotation. */
  rotationDueAt?: Date | null;
  /** Rotation period in days (sets `rotationDueAt` from now when that is not given). */
  rotationPeriodDays?: number | null;
}

/** Read and write access to named credentials. Values only ever travel as `Secret`. */
export interface CredentialStore {
  /** The value, or `undefined` when no credential has that name. Expired values still return. */
  get(name: string): Secret | undefined;
  /** Creates or replaces a credential. */
  set(name: string, value: Secret, options?: SetOptions): void;
  /** Deletes it; true when it existed. */
  remove(name: string): boolean;
  /** Metadata of every credential, sorted by name. */
  list(): CredentialInfo[];
  /** Metadata of one credential (optional so in-memory fakes need not implement it). */
  info?(name: string): CredentialInfo | undefined;
}

/** The naming convention for credentials, so every room spells them the same way. */
export const credentialNames = {
  /** An LLM provider's API key, e.g. `provider.openai.api_key`. */
  providerKey: (provider: string): string => `provider.${provider}.api_key`,
  /** A channel's platform secret, e.g. `channel.telegram.token`, `channel.slack.app_token`. */
  channelSecret: (channel: string, what: string): string => `channel.${channel}.${what}`,
  /** A channel adapter's Ed25519 private key (base64 seed). */
  adapterKey: (channel: string): string => `channel.${channel}.adapter_key`,
  /** The gateway's own Ed25519 key, used to sign audit checkpoints. */
  auditSigningKey: "audit.signing_key",
  /** A SIEM destination's key, e.g. `siem.datadog.api_key`. */
  siemKey: (destination: string, what = "api_key"): string => `siem.${destination}.${what}`,
} as const;
