/**
 * An independent SigV4 verifier for the fake Bedrock server: rebuilds the canonical request
 * from what arrived on the wire (AWS's documented algorithm, non-S3 double URI encoding) and
 * recomputes the signature with WebCrypto. It shares no code with `aws4fetch`.
 *
 * @module
 */
import type { Recorded } from "./fake_server.ts";

const enc = new TextEncoder();

async function sha256Hex(data: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", enc.encode(data));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function hmac(key: Uint8Array<ArrayBuffer>, data: string): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(data)));
}

function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/** Throws unless `req` carries a valid SigV4 signature for `secret`, `region`, `service`. */
export async function verifySigV4(
  req: Recorded,
  opts: {
    accessKeyId: string;
    secret: string;
    region: string;
    service: string;
    sessionToken?: string;
  },
): Promise<void> {
  const auth = req.headers.get("authorization") ?? "";
  const m = auth.match(
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/,
  );
  if (!m) throw new Error("no SigV4 Authorization header");
  const [, akid, date, region, service, signedHeaders, signature] = m;
  if (akid !== opts.accessKeyId) throw new Error("wrong access key id");
  if (region !== opts.region || service !== opts.service) throw new Error("wrong scope");
  const amzDate = req.headers.get("x-amz-date") ?? "";
  if (!amzDate.startsWith(date)) throw new Error("x-amz-date does not match the scope date");
  if (
    Math.abs(
      Date.parse(
        amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, "$1-$2-$3T$4:$5:$6Z"),
      ) - Date.now(),
    ) > 5 * 60_000
  ) {
    throw new Error("x-amz-date too far from now");
  }
  if (opts.sessionToken && req.headers.get("x-amz-security-token") !== opts.sessionToken) {
    throw new Error("session token missing");
  }
  const names = signedHeaders.split(";");
  for (const required of ["host", "x-amz-date"]) {
    if (!names.includes(required)) throw new Error(`${required} is not signed`);
  }
  const canonicalHeaders = names.map((n) => {
    const v = n === "host" ? req.url.host : req.headers.get(n);
    if (v === null) throw new Error(`signed header ${n} is missing`);
    return `${n}:${v.trim().replace(/\s+/g, " ")}\n`;
  }).join("");
  // Non-S3 services: each path segment is URI-encoded once more on top of the wire encoding.
  const canonicalUri = req.url.pathname.split("/").map((s) => rfc3986(s)).join("/");
  const query = [...req.url.searchParams.entries()]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonical = [
    req.method,
    canonicalUri,
    query,
    canonicalHeaders,
    signedHeaders,
    await sha256Hex(req.body),
  ].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256Hex(canonical)].join("\n");
  let key = await hmac(enc.encode("AWS4" + opts.secret), date);
  key = await hmac(key, region);
  key = await hmac(key, service);
  key = await hmac(key, "aws4_request");
  const expected = [...await hmac(key, toSign)].map((b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
  if (expected !== signature) throw new Error("SigV4 signature mismatch");
}
