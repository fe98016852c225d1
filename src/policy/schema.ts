/**
 * The organisation policy: what an IT department pins for every wirken it manages. Local config
 * can only be as strict or stricter; it can never loosen a rule here.
 *
 * @module
 */
import { z } from "zod";
import { CHANNELS, PROVIDER_KINDS } from "../config/schema.ts";

/** Why a rule exists, shown to the user whose config breaks it. */
const reason = z.string().max(500).optional().describe(
  "Shown to users whose config breaks the rule.",
);

/** The signed policy document. */
export const PolicySchema = z.strictObject({
  version: z.literal(1),
  org: z.string().min(1).max(200).describe("Organisation name, shown by doctor."),
  serial: z.number().int().positive().describe(
    "Increases with every new policy; older ones are refused.",
  ),
  issuedAt: z.iso.datetime({ offset: true }),
  providers: z.strictObject({
    allowed: z.array(z.strictObject({
      kind: z.enum(PROVIDER_KINDS),
      /** Glob patterns (`*` wildcard) of allowed models; absent: any model of that provider. */
      models: z.array(z.string().min(1)).optional(),
    })).min(1),
    reason,
  }).optional(),
  channels: z.strictObject({ allowed: z.array(z.enum(CHANNELS)), reason }).optional(),
  /** Tool name -> minimum tier. Can only raise a tool's tier (tighten). */
  tiers: z.record(z.string().min(1), z.union([z.literal(1), z.literal(2), z.literal(3)]))
    .optional(),
  sandbox: z.strictObject({ required: z.enum(["bubblewrap", "docker", "wasm"]), reason })
    .optional(),
  skills: z.strictObject({
    /**
     * Registries whose skills may be installed and loaded. Only a `publicKey` pinned here is
     * trusted, and only when local config's registry names that URL and key; a URL-only entry
     * trusts no key (local config could pair the URL with a key of its own).
     */
    registries: z.array(z.union([
      z.url(),
      z.strictObject({
        url: z.url(),
        publicKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "a base64 Ed25519 public key"),
      }),
    ])),
    reason,
  }).optional(),
  siem: z.strictObject({
    /** Destinations every gateway forwards to; local config cannot remove them. */
    destinations: z.array(z.strictObject({
      /** Same rule as a local destination's name, so it merges into `siem.destinations`. */
      name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/),
      kind: z.enum(["datadog", "splunk", "webhook"]),
      url: z.url(),
    })),
  }).optional(),
  audit: z.strictObject({ minRetentionDays: z.number().int().min(1).max(3650), reason }).optional(),
});

/** A verified policy. */
export type Policy = z.infer<typeof PolicySchema>;

/** The signed envelope served at the org URL and cached on disk. */
export const EnvelopeSchema = z.strictObject({
  format: z.literal("wirken-org-policy-v1"),
  /** The org's Ed25519 public key, base64 (32 bytes). Trusted only if its fingerprint is pinned. */
  publicKey: z.base64(),
  /** The policy JSON, base64: the exact bytes that were signed. */
  payload: z.base64(),
  /** Ed25519 signature over `"wirken-org-policy-v1\0" || payload bytes`, base64 (64 bytes). */
  signature: z.base64(),
});

/** A policy envelope. */
export type Envelope = z.infer<typeof EnvelopeSchema>;
