/**
 * Bot Framework token checks: every activity POSTed to the Teams adapter carries
 * `Authorization: Bearer <JWT>` signed by the Bot Connector. The token is accepted only when:
 * the algorithm is RS256 (so `none` and HMAC tricks fail), its key id is in the JWKS that the
 * OpenID metadata names (fetched, cached for a day, refreshed early when an unknown key id
 * appears, at most once a minute), the signature verifies, the issuer is the Bot Framework's,
 * the audience is our app id, it is within its validity period (5 minutes of clock skew), the
 * key is endorsed for the activity's channel when it lists endorsements, and its `serviceurl`
 * claim equals the activity's `serviceUrl`.
 *
 * @module
 */
import { z } from "zod";

/** The Bot Framework's token issuer. */
export const BOT_FRAMEWORK_ISSUER = "https://api.botframework.com";
/** Where the Bot Framework publishes its OpenID metadata. */
export const BOT_FRAMEWORK_OPENID_URL =
  "https://login.botframework.com/v1/.well-known/openidconfiguration";
/** Accepted clock difference. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** Why a token was refused (never includes the token). */
export class TokenRejected extends Error {
  /** `reason` is safe to log. */
  constructor(reason: string) {
    super(reason);
    this.name = "TokenRejected";
  }
}

const HeaderSchema = z.object({ alg: z.string(), kid: z.string().min(1).max(256).optional() });
const ClaimsSchema = z.object({
  iss: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
  exp: z.number().optional(),
  nbf: z.number().optional(),
  serviceurl: z.string().optional(),
});

/** The verified claims a caller still needs. */
export type Claims = z.infer<typeof ClaimsSchema>;

const JwkSchema = z.object({
  kty: z.string(),
  kid: z.string().optional(),
  n: z.string().optional(),
  e: z.string().optional(),
  endorsements: z.array(z.string()).optional(),
});
type Jwk = z.infer<typeof JwkSchema>;

function b64urlDecode(s: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new TokenRejected("malformed token encoding");
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(b64urlDecode(part)));
  } catch (e) {
    if (e instanceof TokenRejected) throw e;
    throw new TokenRejected("malformed token");
  }
}

/** Fetches and caches the signing keys named by an OpenID metadata document. */
export class KeySet {
  readonly #openIdUrl: string;
  readonly #fetch: typeof fetch;
  readonly #ttlMs: number;
  #keys: Jwk[] = [];
  #fetchedAt = 0;
  #lastForcedAt = 0;
  #inflight: Promise<void> | null = null;

  /** `ttlMs`: how long keys are trusted before a refresh (default 24 h). */
  constructor(openIdUrl: string, options: { fetch?: typeof fetch; ttlMs?: number } = {}) {
    this.#openIdUrl = openIdUrl;
    this.#fetch = options.fetch ?? fetch;
    this.#ttlMs = options.ttlMs ?? 24 * 3600_000;
  }

  async #refresh(): Promise<void> {
    const signal = AbortSignal.timeout(10_000);
    const meta = await this.#fetch(this.#openIdUrl, { signal });
    if (!meta.ok) throw new Error(`OpenID metadata: HTTP ${meta.status}`);
    const doc = z.object({ jwks_uri: z.url() }).parse(await meta.json());
    const res = await this.#fetch(doc.jwks_uri, { signal });
    if (!res.ok) throw new Error(`JWKS: HTTP ${res.status}`);
    const jwks = z.object({ keys: z.array(z.unknown()).max(100) }).parse(await res.json());
    this.#keys = jwks.keys.flatMap((k) => {
      const p = JwkSchema.safeParse(k);
      return p.success ? [p.data] : [];
    });
    this.#fetchedAt = Date.now();
  }

  #load(): Promise<void> {
    this.#inflight ??= this.#refresh().finally(() => (this.#inflight = null));
    return this.#inflight;
  }

  /** The key `kid`, refreshing when the cache is stale or (at most once a minute) on a miss. */
  async get(kid: string): Promise<Jwk | undefined> {
    if (Date.now() - this.#fetchedAt > this.#ttlMs) await this.#load();
    let key = this.#keys.find((k) => k.kid === kid);
    if (!key && Date.now() - this.#lastForcedAt > 60_000) {
      // Keys roll over: an unknown kid may be a new key, but a flood of made-up kids must not
      // turn into a flood of metadata fetches.
      this.#lastForcedAt = Date.now();
      await this.#load();
      key = this.#keys.find((k) => k.kid === kid);
    }
    return key;
  }
}

/** What {@linkcode verifyToken} checks against. */
export interface Expectations {
  appId: string;
  issuer?: string;
  now?: number;
}

/** A token whose signature, issuer, audience and validity held. */
export interface VerifiedToken {
  claims: Claims;
  /** The signing key's endorsements (channel ids), when it lists any. */
  endorsements?: string[];
}

/**
 * Verifies `authorization` (the whole header value): everything that needs no activity, so it
 * runs before the body is parsed. {@linkcode checkActivityBinding} then ties the token to the
 * parsed activity. Throws {@linkcode TokenRejected} with a loggable reason.
 */
export async function verifyToken(
  authorization: string | null,
  keys: KeySet,
  expect: Expectations,
): Promise<VerifiedToken> {
  const m = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/.exec(
    authorization?.trim() ?? "",
  );
  if (!m) throw new TokenRejected("no bearer token");
  const header = HeaderSchema.safeParse(decodeJson(m[1]));
  if (!header.success) throw new TokenRejected("malformed token header");
  if (header.data.alg !== "RS256") {
    throw new TokenRejected(`algorithm ${header.data.alg.slice(0, 20)} is not accepted`);
  }
  if (!header.data.kid) throw new TokenRejected("token names no key");
  const jwk = await keys.get(header.data.kid);
  if (!jwk || jwk.kty !== "RSA" || !jwk.n || !jwk.e) {
    throw new TokenRejected("token signed by an unknown key");
  }
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey(
      "jwk",
      { kty: "RSA", n: jwk.n, e: jwk.e, alg: "RS256", ext: true },
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["verify"],
    );
  } catch {
    throw new TokenRejected("unusable signing key");
  }
  const ok = await crypto.subtle.verify(
    "RSASSA-PKCS1-v1_5",
    key,
    b64urlDecode(m[3]),
    new TextEncoder().encode(`${m[1]}.${m[2]}`),
  );
  if (!ok) throw new TokenRejected("bad token signature");
  // Claims are read only after the signature holds.
  const parsed = ClaimsSchema.safeParse(decodeJson(m[2]));
  if (!parsed.success) throw new TokenRejected("malformed token claims");
  const c = parsed.data;
  if (c.iss !== (expect.issuer ?? BOT_FRAMEWORK_ISSUER)) throw new TokenRejected("wrong issuer");
  const aud = Array.isArray(c.aud) ? c.aud : [c.aud];
  if (!aud.includes(expect.appId)) throw new TokenRejected("wrong audience");
  const now = expect.now ?? Date.now();
  if (c.exp === undefined || c.exp * 1000 + CLOCK_SKEW_MS < now) {
    throw new TokenRejected("token expired");
  }
  if (c.nbf !== undefined && c.nbf * 1000 - CLOCK_SKEW_MS > now) {
    throw new TokenRejected("token not yet valid");
  }
  return { claims: c, endorsements: jwk.endorsements };
}

/**
 * The token must be for this activity: its `serviceurl` claim equals the activity's
 * `serviceUrl` (where replies, with our token, will go), and a key that lists endorsements
 * must be endorsed for the activity's channel (`msteams`).
 */
export function checkActivityBinding(
  token: VerifiedToken,
  activity: { serviceUrl: string; channelId: string },
): void {
  if (token.endorsements && !token.endorsements.includes(activity.channelId)) {
    throw new TokenRejected("key not endorsed for this channel");
  }
  if (normalizeUrl(token.claims.serviceurl ?? "") !== normalizeUrl(activity.serviceUrl)) {
    throw new TokenRejected("serviceurl claim does not match the activity");
  }
}

function normalizeUrl(u: string): string {
  return u.replace(/\/+$/, "").toLowerCase();
}
