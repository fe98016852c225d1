/**
 * A fake Bot Framework for tests: OpenID metadata and a JWKS publishing a test RSA key, a token
 * endpoint for the client-credentials grant, and a connector that records what the bot sends.
 * It signs activities the way the Bot Connector does (RS256 JWT, issuer
 * `https://api.botframework.com`, audience = app id, `serviceurl` claim) and POSTs them to the
 * adapter; tests can also forge tokens (other keys, `alg: none`, wrong claims).
 *
 * @module
 */

/** One activity the bot sent (or edited) through the connector. */
export interface ConnectorCall {
  method: string;
  conversationId: string;
  activityId: string | null;
  authorization: string;
  body: Record<string, unknown>;
}

/** A running fake. */
export interface FakeBotFramework {
  /** Base URL: connector (`serviceUrl`), metadata and token endpoint all live here. */
  url: string;
  openIdUrl: string;
  authUrl: string;
  calls: ConnectorCall[];
  /** Token requests seen (form fields). */
  tokenRequests: Record<string, string>[];
  /** Signs `claims` with the published key (or `key`/`kid`/`alg` overrides). */
  sign(claims: Record<string, unknown>, o?: SignOptions): Promise<string>;
  /** Valid claims for `appId` and this fake's serviceUrl. */
  claims(appId: string, overrides?: Record<string, unknown>): Record<string, unknown>;
  /** The next `n` connector calls fail with HTTP `status` (retry tests). */
  failNext(n: number, status: number): void;
  /** Serves bytes at `/files/<name>` (needs the bot's token). */
  addFile(name: string, data: Uint8Array, type: string): void;
  close(): Promise<void>;
}

/** How to sign a test token. */
export interface SignOptions {
  key?: CryptoKey;
  kid?: string;
  alg?: string;
}

function b64url(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A fresh RS256 key pair. */
export async function rsaKeyPair(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
}

/** Signs a JWT (`alg: none` gives an empty signature). */
export async function signJwt(
  claims: Record<string, unknown>,
  key: CryptoKey,
  kid: string,
  alg = "RS256",
): Promise<string> {
  const head = b64url(JSON.stringify({ alg, kid, typ: "JWT" }));
  const body = b64url(JSON.stringify(claims));
  if (alg === "none") return `${head}.${body}.`;
  const sig = new Uint8Array(
    await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, new TextEncoder().encode(`${head}.${body}`)),
  );
  return `${head}.${body}.${b64url(sig)}`;
}

/** Starts the fake with one published key (kid `test-key-1`, endorsed for `msteams`). */
export async function fakeBotFramework(
  o: { appId: string; appPassword: string },
): Promise<FakeBotFramework> {
  const pair = await rsaKeyPair();
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const calls: ConnectorCall[] = [];
  const tokenRequests: Record<string, string>[] = [];
  const files = new Map<string, { data: Uint8Array; type: string }>();
  const issued = new Set<string>();
  let seq = 0;
  let failures = 0;
  let failStatus = 500;
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, async (req): Promise<Response> => {
    const url = new URL(req.url);
    const base = `http://127.0.0.1:${server.addr.port}`;
    if (url.pathname === "/v1/.well-known/openidconfiguration") {
      return Response.json({
        issuer: "https://api.botframework.com",
        jwks_uri: `${base}/v1/.well-known/keys`,
        id_token_signing_alg_values_supported: ["RS256"],
      });
    }
    if (url.pathname === "/v1/.well-known/keys") {
      return Response.json({
        keys: [{
          kty: "RSA",
          use: "sig",
          kid: "test-key-1",
          n: jwk.n,
          e: jwk.e,
          endorsements: ["msteams"],
        }],
      });
    }
    if (url.pathname.endsWith("/oauth2/v2.0/token") && req.method === "POST") {
      const form = Object.fromEntries(new URLSearchParams(await req.text()));
      tokenRequests.push(form);
      if (form.client_id !== o.appId || form.client_secret !== o.appPassword) {
        return Response.json({ error: "invalid_client" }, { status: 401 });
      }
      const token = `bf-token-${++seq}`;
      issued.add(token);
      return Response.json({ token_type: "Bearer", expires_in: 3600, access_token: token });
    }
    const auth = req.headers.get("authorization") ?? "";
    const authorized = issued.has(auth.replace(/^Bearer /, ""));
    const f = /^\/files\/(.+)$/.exec(url.pathname);
    if (f) {
      const file = files.get(f[1]);
      if (!authorized || !file) return new Response("no", { status: 401 });
      return new Response(file.data as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": file.type },
      });
    }
    const m = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(url.pathname);
    if (m) {
      if (!authorized) return Response.json({ error: "unauthorized" }, { status: 401 });
      if (failures > 0) {
        failures--;
        await req.body?.cancel();
        return Response.json({ error: "injected" }, { status: failStatus });
      }
      const body = await req.json() as Record<string, unknown>;
      calls.push({
        method: req.method,
        conversationId: decodeURIComponent(m[1]),
        activityId: m[2] ? decodeURIComponent(m[2]) : null,
        authorization: auth,
        body,
      });
      return Response.json({ id: m[2] && req.method === "PUT" ? m[2] : `act-${++seq}` });
    }
    return new Response("not found", { status: 404 });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    openIdUrl: `${url}/v1/.well-known/openidconfiguration`,
    authUrl: `${url}/{tenant}/oauth2/v2.0/token`,
    calls,
    tokenRequests,
    sign: (claims, s = {}) =>
      signJwt(claims, s.key ?? pair.privateKey, s.kid ?? "test-key-1", s.alg ?? "RS256"),
    claims: (appId, overrides = {}) => ({
      iss: "https://api.botframework.com",
      aud: appId,
      serviceurl: url,
      nbf: Math.floor(Date.now() / 1000) - 10,
      exp: Math.floor(Date.now() / 1000) + 3600,
      ...overrides,
    }),
    failNext(n, status) {
      failures = n;
      failStatus = status;
    },
    addFile(name, data, type) {
      files.set(name, { data, type });
    },
    close: () => server.shutdown(),
  };
}

/** A Teams message activity from `from` in `conversation`, addressed to the bot. */
export function messageActivity(
  serviceUrl: string,
  o: {
    id: string;
    from: string;
    text: string;
    conversation?: string;
    type?: "personal" | "groupChat" | "channel";
    mentionBot?: boolean;
    value?: unknown;
    attachments?: Record<string, unknown>[];
  },
): Record<string, unknown> {
  const bot = { id: "28:bot-id", name: "Wirken" };
  return {
    type: "message",
    id: o.id,
    timestamp: new Date().toISOString(),
    serviceUrl,
    channelId: "msteams",
    // Teams sends the user's Entra ID object id alongside the per-bot id.
    from: { id: `29:${o.from}`, name: `User ${o.from}`, aadObjectId: o.from },
    recipient: bot,
    conversation: {
      id: o.conversation ?? `a:conv-${o.from}`,
      conversationType: o.type ?? "personal",
    },
    text: o.mentionBot ? `<at>Wirken</at> ${o.text}` : o.text,
    entities: o.mentionBot ? [{ type: "mention", mentioned: bot, text: "<at>Wirken</at>" }] : [],
    ...(o.value !== undefined ? { value: o.value } : {}),
    ...(o.attachments ? { attachments: o.attachments } : {}),
  };
}

/** POSTs `activity` to the adapter with `Authorization: Bearer <token>`; returns the status. */
export async function postActivity(
  endpoint: string,
  activity: Record<string, unknown> | Uint8Array,
  token: string | null,
): Promise<number> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const body = activity instanceof Uint8Array ? activity : JSON.stringify(activity);
  const res = await fetch(endpoint, {
    method: "POST",
    headers,
    body: body as Uint8Array<ArrayBuffer> | string,
  });
  await res.body?.cancel();
  return res.status;
}
