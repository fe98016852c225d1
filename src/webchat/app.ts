/**
 * The WebChat HTTP app (hono). For now it serves a status page; the chat UI is issue 13.
 *
 * Bound to loopback only, and it refuses requests whose `Host` is not loopback: that stops DNS
 * rebinding, where a web page on another origin resolves its own name to 127.0.0.1 to reach us.
 *
 * @module
 */
import { Hono } from "hono";

/** What the page shows about the running gateway. */
export interface WebChatInfo {
  version: string;
  provider: string | null;
  startedAt: Date;
}

const LOOPBACK_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/i;

/** Builds the hono app. */
export function createWebChatApp(info: WebChatInfo): Hono {
  const app = new Hono();
  app.use("*", async (c, next) => {
    const host = c.req.header("host") ?? "";
    if (!LOOPBACK_HOST.test(host)) {
      return c.text("wirken WebChat only answers on localhost.\n", 421);
    }
    await next();
    c.header("X-Content-Type-Options", "nosniff");
    c.header("X-Frame-Options", "DENY");
    c.header("Referrer-Policy", "no-referrer");
    c.header(
      "Content-Security-Policy",
      "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'",
    );
  });
  app.get("/healthz", (c) =>
    c.json({
      ok: true,
      version: info.version,
      provider: info.provider,
      uptimeSeconds: Math.round((Date.now() - info.startedAt.getTime()) / 1000),
    }));
  app.get("/", (c) => c.html(statusPage(info)));
  app.notFound((c) => c.text("Not found\n", 404));
  return app;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function statusPage(info: WebChatInfo): string {
  const provider = info.provider
    ? `Provider: <code>${escapeHtml(info.provider)}</code>`
    : "No provider configured yet: run <code>wirken setup</code>.";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wirken</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
code{background:#eee;padding:0 .25rem;border-radius:3px}</style></head>
<body><h1>wirken ${escapeHtml(info.version)}</h1>
<p>The gateway is running. ${provider}</p>
<p>The chat interface is not available yet in this version; use <code>wirken ask</code>
from a terminal once a provider is configured.</p></body></html>`;
}
