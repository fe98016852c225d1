/**
 * The start-up bundle the supervisor writes to an adapter's stdin: that channel's credentials,
 * its Ed25519 key, the socket path and its grants. Never argv (visible in `ps`) and never the
 * environment (visible in `/proc/<pid>/environ`).
 *
 * Wire format, deliberately small: `"WKAB"` magic, a version byte, a 4-byte big-endian body
 * length, then a UTF-8 JSON body validated with zod. The length is checked against
 * {@linkcode MAX_BUNDLE_BYTES} before the body is read.
 *
 * @module
 */
import { z } from "zod";
import { type Channel, CHANNELS } from "../config/channels.ts";
import { Secret } from "../secret.ts";
import { IpcError } from "./errors.ts";

/** Largest accepted bundle body. Credentials are small; anything bigger is a mistake or worse. */
export const MAX_BUNDLE_BYTES = 64 * 1024;
/** Most group mention rules one channel's bundle carries; config refuses more at load. */
export const MAX_GROUP_MODES = 1000;
/** Longest conversation id a group mention rule may have. */
export const MAX_GROUP_MODE_ID = 512;
/**
 * Largest JSON size of one channel's group mention rules: what is left of
 * {@linkcode MAX_BUNDLE_BYTES} after 16 KiB for keys, credentials, paths and grants.
 */
export const MAX_GROUP_MODES_BYTES = 48 * 1024;
/** The bundle format version. */
export const BUNDLE_VERSION = 1;
const MAGIC = new Uint8Array([0x57, 0x4b, 0x41, 0x42]); // "WKAB"

/** What an adapter may touch, used both as `deno run` flags and as Worker permissions. */
export interface Grants {
  /** `host:port` entries plus `unix:<socket>`. */
  net: string[];
  read: string[];
  write: string[];
  env: string[];
}

/** How the adapter confines its channel code. */
export type Isolation = "process" | "worker";

/** The decoded bundle; credential values stay wrapped in {@linkcode Secret}. */
export interface AdapterBundle {
  version: number;
  channel: Channel;
  socketPath: string;
  /** The gateway's base64 Ed25519 public key: the adapter talks only to a socket that proves it. */
  gatewayKey: string;
  /** Base64 Ed25519 seed. */
  adapterKey: Secret;
  /** This channel's own credentials by vault name (`channel.<ch>.<what>`). */
  credentials: Map<string, Secret>;
  /** `process`: the OS process is already confined by flags; `worker`: confine in a Worker. */
  isolation: Isolation;
  grants: Grants;
  /** `channel`: the real chat library; `test`: the probe/echo driver of the test suite. */
  driver: "channel" | "test";
  /**
   * Group mention rule per conversation id (`conversations[].groupMode` of this channel), so
   * the adapter forwards only what the owner configured; conversations not listed use the
   * adapter's default.
   */
  groupModes?: Record<string, "mention" | "all">;
}

const GrantsSchema = z.strictObject({
  net: z.array(z.string().min(1)).max(64),
  read: z.array(z.string().min(1)).max(16),
  write: z.array(z.string().min(1)).max(16),
  env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).max(64),
});

const BodySchema = z.strictObject({
  version: z.literal(BUNDLE_VERSION),
  channel: z.enum(CHANNELS),
  socketPath: z.string().min(1).max(4096),
  gatewayKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "a base64 Ed25519 public key"),
  adapterKey: z.string().min(1).max(128),
  credentials: z.record(z.string().min(1).max(256), z.string().min(1).max(16 * 1024)),
  isolation: z.enum(["process", "worker"]),
  grants: GrantsSchema,
  driver: z.enum(["channel", "test"]),
  groupModes: z.record(z.string().min(1).max(MAX_GROUP_MODE_ID), z.enum(["mention", "all"]))
    .refine(
      (m) => Object.keys(m).length <= MAX_GROUP_MODES,
      `at most ${MAX_GROUP_MODES} group settings`,
    )
    .optional(),
});

/**
 * The group mention rules of `channel` worth sending: every `conversations[].groupMode` of it,
 * less those the adapter would reach anyway. The default is `envValue` (the channel's
 * `<CHANNEL>_GROUP_MODE`) when it is `all`, else `mention`. A `chat/thread` entry is left out
 * when it equals its chat's rule (or the default when the chat has none). Any other entry is
 * left out when it equals the default and no entry sets the other mode: on Discord a thread
 * has an id of its own and follows its parent channel's entry, which the gateway cannot tell
 * from the id, so an explicit default there may be overriding a parent.
 */
export function groupModesToSend(
  conversations: readonly { channel: string; conversation: string; groupMode?: GroupModeValue }[],
  channel: string,
  envValue: string | undefined,
): Record<string, GroupModeValue> {
  const fallback: GroupModeValue = envValue === "all" ? "all" : "mention";
  const modes = new Map<string, GroupModeValue>();
  for (const c of conversations) {
    if (c.channel === channel && c.groupMode) modes.set(c.conversation, c.groupMode);
  }
  const anyOther = [...modes.values()].some((m) => m !== fallback);
  const out: Record<string, GroupModeValue> = {};
  for (const [id, mode] of modes) {
    const at = id.indexOf("/");
    const inherited = at > 0 ? modes.get(id.slice(0, at)) ?? fallback : fallback;
    const redundant = at > 0 ? mode === inherited : mode === fallback && !anyOther;
    if (!redundant) out[id] = mode;
  }
  return out;
}

/** A group mention rule. */
export type GroupModeValue = "mention" | "all";

/** Serialises a bundle: magic, version, length, JSON. */
export function encodeBundle(bundle: AdapterBundle): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify({
    version: bundle.version,
    channel: bundle.channel,
    socketPath: bundle.socketPath,
    gatewayKey: bundle.gatewayKey,
    // The one place the values leave their Secret wrappers: the child's stdin pipe.
    adapterKey: bundle.adapterKey.reveal(),
    credentials: Object.fromEntries([...bundle.credentials].map(([k, v]) => [k, v.reveal()])),
    isolation: bundle.isolation,
    grants: bundle.grants,
    driver: bundle.driver,
    ...(bundle.groupModes ? { groupModes: bundle.groupModes } : {}),
  }));
  if (body.length > MAX_BUNDLE_BYTES) {
    throw new IpcError(`adapter bundle of ${body.length} bytes exceeds ${MAX_BUNDLE_BYTES}`);
  }
  const out = new Uint8Array(9 + body.length);
  out.set(MAGIC, 0);
  out[4] = BUNDLE_VERSION;
  new DataView(out.buffer).setUint32(5, body.length, false);
  out.set(body, 9);
  return out;
}

/** Turns a validated JSON body into a bundle (also used by the Worker, which gets plain JSON). */
export function bundleFromJson(json: unknown): AdapterBundle {
  const parsed = BodySchema.safeParse(json);
  if (!parsed.success) {
    throw new IpcError(`invalid adapter bundle: ${parsed.error.issues[0]?.message ?? "?"}`);
  }
  const b = parsed.data;
  return {
    version: b.version,
    channel: b.channel,
    socketPath: b.socketPath,
    gatewayKey: b.gatewayKey,
    adapterKey: new Secret(b.adapterKey),
    credentials: new Map(Object.entries(b.credentials).map(([k, v]) => [k, new Secret(v)])),
    isolation: b.isolation,
    grants: b.grants,
    driver: b.driver,
    ...(b.groupModes ? { groupModes: b.groupModes } : {}),
  };
}

/** The bundle as plain JSON-able data, for posting to a Worker (Secrets do not clone). */
export function bundleToJson(bundle: AdapterBundle): Record<string, unknown> {
  return {
    version: bundle.version,
    channel: bundle.channel,
    socketPath: bundle.socketPath,
    gatewayKey: bundle.gatewayKey,
    adapterKey: bundle.adapterKey.reveal(),
    credentials: Object.fromEntries([...bundle.credentials].map(([k, v]) => [k, v.reveal()])),
    isolation: bundle.isolation,
    grants: bundle.grants,
    driver: bundle.driver,
    ...(bundle.groupModes ? { groupModes: bundle.groupModes } : {}),
  };
}

/**
 * Reads exactly one bundle from `reader` (the adapter's stdin) and nothing more, so the stream
 * can afterwards be watched for EOF (the supervisor's death). Throws {@linkcode IpcError}.
 */
export async function readBundle(
  reader: ByteSource,
): Promise<AdapterBundle> {
  const header = await readExact(reader, 9);
  if (!MAGIC.every((b, i) => header[i] === b)) throw new IpcError("stdin is not an adapter bundle");
  if (header[4] !== BUNDLE_VERSION) {
    throw new IpcError(`adapter bundle version ${header[4]}, expected ${BUNDLE_VERSION}`);
  }
  const length = new DataView(header.buffer, header.byteOffset).getUint32(5, false);
  if (length > MAX_BUNDLE_BYTES) {
    throw new IpcError(`adapter bundle of ${length} bytes exceeds ${MAX_BUNDLE_BYTES}`);
  }
  const body = await readExact(reader, length);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw new IpcError("adapter bundle body is not JSON");
  } finally {
    body.fill(0);
  }
  return bundleFromJson(json);
}

/** Anything with `Deno.Reader`'s `read` (Deno.stdin, a test buffer). */
export interface ByteSource {
  read(p: Uint8Array): Promise<number | null>;
}

async function readExact(reader: ByteSource, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const read = await reader.read(out.subarray(got));
    if (read === null) throw new IpcError(`stdin ended after ${got} of ${n} bundle bytes`);
    got += read;
  }
  return out;
}
