/**
 * The adapter handshake: the gateway sends a fresh 32-byte nonce, the adapter signs
 * `"wirken-ipc-adapter-handshake-v1\0" || adapterId || 0x00 || nonce` with its Ed25519 key, and
 * the gateway checks it against the public key registered for that adapterId in config.
 *
 * The domain prefix keeps these signatures useless anywhere else; binding the adapterId stops
 * one adapter's signature from being presented as another's; the nonce is single use, so a
 * recorded response never authenticates a second connection.
 *
 * @module
 */
import { type Channel, CHANNELS } from "../config/channels.ts";
import { type Frame, PROTOCOL_VERSION } from "./codec.ts";
import { HandshakeError } from "./errors.ts";
import { fromBase64, verifySignature } from "./keys.ts";
import { equalBytes } from "../timing_safe.ts";

/** The domain-separation prefix of every handshake signature (NUL included). */
export const HANDSHAKE_DOMAIN = "wirken-ipc-adapter-handshake-v1\0";

/**
 * The domain of the gateway's counter-signature. Adapters must be able to tell the real gateway
 * from a process that unlinked the socket and listens in its place: an adapter needs write
 * access to the socket path to connect, and in Deno that also allows removing it.
 */
export const GATEWAY_DOMAIN = "wirken-ipc-gateway-handshake-v1\0";

/** Whole-handshake deadline: from accept to a verified response. */
export const HANDSHAKE_DEADLINE_MS = 5000;

const encoder = new TextEncoder();

/** The exact bytes an adapter signs. */
export function handshakeMessage(adapterId: string, nonce: Uint8Array): Uint8Array {
  const domain = encoder.encode(HANDSHAKE_DOMAIN);
  const id = encoder.encode(adapterId);
  const out = new Uint8Array(domain.length + id.length + 1 + nonce.length);
  out.set(domain, 0);
  out.set(id, domain.length);
  out[domain.length + id.length] = 0;
  out.set(nonce, domain.length + id.length + 1);
  return out;
}

/**
 * The exact bytes the gateway signs for an adapter:
 * `GATEWAY_DOMAIN || adapterId || 0x00 || adapterNonce || gatewayNonce`.
 */
export function gatewayProofMessage(
  adapterId: string,
  adapterNonce: Uint8Array,
  gatewayNonce: Uint8Array,
): Uint8Array {
  const domain = encoder.encode(GATEWAY_DOMAIN);
  const id = encoder.encode(adapterId);
  const out = new Uint8Array(
    domain.length + id.length + 1 + adapterNonce.length + gatewayNonce.length,
  );
  let off = 0;
  for (const part of [domain, id, new Uint8Array(1), adapterNonce, gatewayNonce]) {
    out.set(part, off);
    off += part.length;
  }
  return out;
}

/** True when `value` names a chat channel. */
export function isChannel(value: string): value is Channel {
  return (CHANNELS as readonly string[]).includes(value);
}

/**
 * Issues nonces and lets each be consumed exactly once, within `ttlMs`. Memory is bounded: at
 * most one outstanding nonce per pending connection, and the server caps those.
 */
export class NonceRegistry {
  readonly #issued = new Map<string, number>();

  /** `now` is injectable for tests. */
  constructor(private readonly ttlMs = HANDSHAKE_DEADLINE_MS, private readonly now = Date.now) {}

  /** A fresh random 32-byte nonce. */
  issue(): Uint8Array {
    this.#sweep();
    const nonce = crypto.getRandomValues(new Uint8Array(32));
    this.#issued.set(key(nonce), this.now() + this.ttlMs);
    return nonce;
  }

  /** True the first time an issued, unexpired nonce is presented; false ever after. */
  consume(nonce: Uint8Array): boolean {
    const k = key(nonce);
    const expires = this.#issued.get(k);
    this.#issued.delete(k);
    return expires !== undefined && expires >= this.now();
  }

  /** Outstanding nonces (for tests and status). */
  get size(): number {
    return this.#issued.size;
  }

  #sweep(): void {
    const now = this.now();
    for (const [k, exp] of this.#issued) if (exp < now) this.#issued.delete(k);
  }
}

function key(nonce: Uint8Array): string {
  let s = "";
  for (const b of nonce) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Counts handshake failures per peer key in a sliding window. Unix sockets give no peer
 * identity in Deno (no SO_PEERCRED), so the key is the claimed adapterId, or `anonymous` for
 * peers that never got as far as claiming one; garbage therefore never locks out a real adapter.
 */
export class FailureLimiter {
  readonly #failures = new Map<string, number[]>();

  /** At most `max` failures per `windowMs` per key; `now` is injectable for tests. */
  constructor(
    private readonly max = 10,
    private readonly windowMs = 60_000,
    private readonly now = Date.now,
  ) {}

  /** True when `peer` has used up its failures in the current window. */
  blocked(peer: string): boolean {
    return this.#recent(peer).length >= this.max;
  }

  /** Records one failure of `peer`; returns true when this failure crossed the limit. */
  record(peer: string): boolean {
    const list = this.#recent(peer);
    list.push(this.now());
    this.#failures.set(peer, list);
    return list.length === this.max;
  }

  #recent(peer: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.#failures.get(peer) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.#failures.delete(peer);
    else this.#failures.set(peer, list);
    return list;
  }
}

/** Registered public keys (raw 32 bytes) by channel, read from config. */
export type PublicKeys = Partial<Record<Channel, Uint8Array>>;

/** Reads the enabled channels' public keys from the config's `channels` section. */
export function publicKeysFromConfig(
  channels: Partial<Record<Channel, { enabled: boolean; publicKey?: string }>>,
): PublicKeys {
  const out: PublicKeys = {};
  for (const ch of CHANNELS) {
    const c = channels[ch];
    if (c?.enabled && c.publicKey) out[ch] = fromBase64(c.publicKey);
  }
  return out;
}

/**
 * Checks an `authResponse` against the nonce this connection was given and the registered
 * keys. Returns the authenticated channel or throws {@linkcode HandshakeError} with a reason
 * that is safe to log, audit and send back.
 */
export async function verifyHandshake(
  response: Extract<Frame, { type: "authResponse" }>,
  nonce: Uint8Array,
  keys: PublicKeys,
): Promise<Channel> {
  if (response.protocolVersion !== PROTOCOL_VERSION) {
    throw new HandshakeError(
      `protocol version ${response.protocolVersion}, gateway speaks ${PROTOCOL_VERSION}`,
    );
  }
  const id = response.adapterId;
  if (!isChannel(id)) throw new HandshakeError(`unknown adapterId "${id.slice(0, 64)}"`);
  const registered = keys[id];
  if (!registered) throw new HandshakeError(`no key registered for channel ${id}`);
  if (!equalBytes(registered, response.publicKey)) {
    throw new HandshakeError(`public key does not match the one registered for ${id}`);
  }
  const ok = await verifySignature(registered, response.signature, handshakeMessage(id, nonce));
  if (!ok) throw new HandshakeError(`bad signature for ${id}`);
  return id;
}
