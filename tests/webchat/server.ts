/**
 * Starts the real WebChat app on a free loopback port with a fake service, and logs in like a
 * browser would, for the security and browser tests.
 *
 * @module
 */
import { createWebChatApp, loginUrl } from "../../src/webchat/app.ts";
import { createWebChatAuth, type WebChatAuth } from "../../src/webchat/auth.ts";
import { type FakeChatService, fakeChatService } from "./fake_service.ts";

/** A running WebChat server. */
export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The login link `wirken run` would print. */
  loginUrl: string;
  port: number;
  auth: WebChatAuth;
  service: FakeChatService;
  close(): Promise<void>;
}

/** Starts a server; `maxUploadBytes` defaults to 64 KiB so cap tests stay small. */
export function startTestServer(
  options: { maxUploadBytes?: number; wordDelayMs?: number } = {},
): TestServer {
  const service = fakeChatService({ wordDelayMs: options.wordDelayMs });
  const auth = createWebChatAuth();
  const app = createWebChatApp(
    { version: "0.0.0-test", provider: "fake/model-1", startedAt: new Date() },
    service,
    { auth, maxUploadBytes: options.maxUploadBytes ?? 64 * 1024 },
  );
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    loginUrl: loginUrl(url, auth),
    port: server.addr.port,
    auth,
    service,
    close: () => server.shutdown(),
  };
}

/** Logs in with the token; returns the cookie header and the page's CSRF token. */
export async function login(s: TestServer): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(s.loginUrl, { redirect: "manual" });
  await res.body?.cancel();
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0];
  const page = await fetch(s.url + "/", { headers: { cookie } });
  const html = await page.text();
  const csrf = /name="wirken-csrf" content="([^"]+)"/.exec(html)?.[1] ?? "";
  return { cookie, csrf };
}

/** Sends raw HTTP/1.1 (to forge headers fetch would not send); returns the status and headers. */
export async function rawHttp(port: number, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(request));
  let raw = "";
  const decoder = new TextDecoder();
  const reader = conn.readable.getReader();
  const deadline = setTimeout(() => reader.cancel().catch(() => {}), 3000);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      raw += decoder.decode(value, { stream: true });
      // Keep-alive and 101 leave the connection open: the status line and headers are all the
      // tests read, so stop there.
      if (raw.includes("\r\n\r\n")) break;
    }
  } finally {
    clearTimeout(deadline);
    try {
      conn.close();
    } catch { /* closed by the reader already */ }
  }
  return raw;
}

/** A WebSocket handshake request with the given headers. */
export function wsHandshake(port: number, headers: Record<string, string>): string {
  const lines = [
    "GET /ws HTTP/1.1",
    `Host: 127.0.0.1:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Version: 13",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return lines.join("\r\n") + "\r\n\r\n";
}
