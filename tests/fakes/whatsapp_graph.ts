/**
 * A fake WhatsApp Cloud API (Graph API) for tests: it records every message the adapter sends,
 * serves media metadata and downloads, accepts media uploads, and plays Meta's part in the
 * webhook: it signs notification bodies with a test app secret and POSTs them to the adapter.
 *
 * @module
 */

/** One request the adapter made to the messages endpoint. */
export interface SentMessage {
  phoneNumberId: string;
  authorization: string;
  body: Record<string, unknown>;
}

/** A running fake. */
export interface FakeGraph {
  /** Base URL (what `WHATSAPP_GRAPH_URL` is set to). */
  url: string;
  sent: SentMessage[];
  /** Uploaded media: mime type and bytes, by id. */
  uploads: Map<string, { type: string; size: number }>;
  /** Registers downloadable media under `id`. */
  addMedia(id: string, data: Uint8Array, mimeType: string): void;
  /** The next `n` message sends fail with HTTP `status` (retry tests). */
  failNext(n: number, status: number): void;
  close(): Promise<void>;
}

/**
 * Starts the fake Graph API on a free loopback port. With `phone`, `GET /<phone number id>`
 * answers the number's details to that access token (the `channel add` check).
 */
export function fakeGraph(phone?: { id: string; accessToken: string }): FakeGraph {
  const sent: SentMessage[] = [];
  const uploads = new Map<string, { type: string; size: number }>();
  const media = new Map<string, { data: Uint8Array; mimeType: string }>();
  let failures = 0;
  let failStatus = 500;
  let seq = 0;
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, async (req): Promise<Response> => {
    const url = new URL(req.url);
    const auth = req.headers.get("authorization") ?? "";
    let m = /^\/v[\d.]+\/([^/]+)\/messages$/.exec(url.pathname);
    if (m && req.method === "POST") {
      const body = await req.json() as Record<string, unknown>;
      if (failures > 0) {
        failures--;
        return Response.json({ error: { message: "try again" } }, { status: failStatus });
      }
      sent.push({ phoneNumberId: m[1], authorization: auth, body });
      return Response.json({
        messaging_product: "whatsapp",
        messages: [{ id: `wamid.out${++seq}` }],
      });
    }
    m = /^\/v[\d.]+\/([^/]+)\/media$/.exec(url.pathname);
    if (m && req.method === "POST") {
      const form = await req.formData();
      const file = form.get("file");
      const id = `upload${++seq}`;
      uploads.set(id, {
        type: String(form.get("type")),
        size: file instanceof Blob ? file.size : 0,
      });
      return Response.json({ id });
    }
    m = /^\/v[\d.]+\/([^/]+)$/.exec(url.pathname);
    if (m && req.method === "GET" && phone && m[1] === phone.id) {
      if (auth !== `Bearer ${phone.accessToken}`) {
        return Response.json({ error: { message: "Invalid OAuth access token" } }, { status: 401 });
      }
      return Response.json({ display_phone_number: "+1 555 0100", verified_name: "Wirken Test" });
    }
    if (m && req.method === "GET") {
      const item = media.get(decodeURIComponent(m[1]));
      if (!item) return Response.json({ error: { message: "no such media" } }, { status: 404 });
      return Response.json({
        url: `http://127.0.0.1:${server.addr.port}/cdn/${m[1]}`,
        mime_type: item.mimeType,
        file_size: item.data.length,
        id: m[1],
      });
    }
    m = /^\/cdn\/([^/]+)$/.exec(url.pathname);
    if (m && req.method === "GET") {
      const item = media.get(decodeURIComponent(m[1]));
      if (!item || !auth.startsWith("Bearer ")) return new Response("no", { status: 404 });
      return new Response(item.data as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": item.mimeType },
      });
    }
    return new Response("not found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    sent,
    uploads,
    addMedia(id, data, mimeType) {
      media.set(id, { data, mimeType });
    },
    failNext(n, status) {
      failures = n;
      failStatus = status;
    },
    close: () => server.shutdown(),
  };
}

/** Hex HMAC-SHA256, as Meta computes `X-Hub-Signature-256`. */
export async function signBody(appSecret: string, body: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(appSecret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new Uint8Array(body)));
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** A WhatsApp notification carrying `messages` for `phoneNumberId`. */
export function notification(
  phoneNumberId: string,
  messages: Record<string, unknown>[],
  contacts: { wa_id: string; name: string }[] = [],
): Record<string, unknown> {
  return {
    object: "whatsapp_business_account",
    entry: [{
      id: "waba1",
      changes: [{
        field: "messages",
        value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: "15550000000", phone_number_id: phoneNumberId },
          contacts: contacts.map((c) => ({ wa_id: c.wa_id, profile: { name: c.name } })),
          messages,
        },
      }],
    }],
  };
}

/** A text message as Meta delivers it. */
export function textMessage(
  from: string,
  id: string,
  body: string,
  at = Date.now(),
): Record<string, unknown> {
  return { from, id, timestamp: String(Math.floor(at / 1000)), type: "text", text: { body } };
}

/**
 * POSTs `body` to the adapter's webhook, signed with `appSecret` unless `signature` overrides the
 * header (`null`: no header at all). Returns the status.
 */
export async function deliver(
  webhookUrl: string,
  body: Record<string, unknown> | Uint8Array,
  appSecret: string,
  signature?: string | null,
): Promise<number> {
  const raw = body instanceof Uint8Array ? body : new TextEncoder().encode(JSON.stringify(body));
  const headers: Record<string, string> = { "content-type": "application/json" };
  const sig = signature === undefined ? await signBody(appSecret, raw) : signature;
  if (sig !== null) headers["x-hub-signature-256"] = sig;
  const res = await fetch(webhookUrl, {
    method: "POST",
    headers,
    body: raw as Uint8Array<ArrayBuffer>,
  });
  await res.body?.cancel();
  return res.status;
}
