/**
 * WebChat authentication: a random login token per gateway start, browser sessions behind an
 * HttpOnly SameSite=Strict cookie, a CSRF token per session, and the exact-Origin rule.
 *
 * Why all of this on loopback: other local users can reach 127.0.0.1, and so can every web page
 * the user opens (a page on http://localhost:3000 is even *same-site* with us, since cookies and
 * SameSite ignore the port). So the token keeps other users out, and the exact-Origin check plus
 * the CSRF header keep other pages from driving the user's logged-in browser.
 *
 * @module
 */
import { equalStrings } from "../timing_safe.ts";

/** Bytes of randomness in the login token and in session ids (256 bits). */
const TOKEN_BYTES = 32;
/** Browser sessions kept at most; the oldest is dropped first (one user, a few browsers). */
const MAX_SESSIONS = 32;

/** One logged-in browser. */
export interface BrowserSession {
  id: string;
  /** Sent back by the page in `X-Wirken-CSRF` on state-changing requests. */
  csrf: string;
  createdAt: number;
}

/** Session store and token checks for one running gateway. */
export interface WebChatAuth {
  /** The per-start secret that the printed login URL carries. */
  readonly loginToken: string;
  /** Checks `token` (constant time) and opens a new browser session, or returns `null`. */
  login(token: string): BrowserSession | null;
  /** The session a cookie value names, or `null`. */
  session(id: string | undefined): BrowserSession | null;
  /** Ends a session (logout). */
  logout(id: string): void;
}

/** A fresh random token, base64url without padding. */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(TOKEN_BYTES));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Compares two strings in time that depends only on their lengths (no early exit). */
export const constantTimeEqual: (a: string, b: string) => boolean = equalStrings;

/** Builds the auth state of one gateway start; `loginToken` defaults to a fresh random one. */
export function createWebChatAuth(loginToken: string = randomToken()): WebChatAuth {
  if (loginToken.length < 32) throw new Error("the WebChat login token must be at least 32 chars");
  const sessions = new Map<string, BrowserSession>();
  return {
    loginToken,
    login(token) {
      if (!constantTimeEqual(token, loginToken)) return null;
      const s: BrowserSession = { id: randomToken(), csrf: randomToken(), createdAt: Date.now() };
      sessions.set(s.id, s);
      // Maps iterate in insertion order, so the first key is the oldest session.
      while (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
      return s;
    },
    session(id) {
      if (!id) return null;
      for (const [key, s] of sessions) if (constantTimeEqual(key, id)) return s;
      return null;
    },
    logout(id) {
      sessions.delete(id);
    },
  };
}

/**
 * The session cookie's name. Cookies ignore ports, so two gateways on one machine (say a test
 * one on another port) would overwrite each other's cookie under a shared name.
 */
export function cookieName(host: string): string {
  const port = /:(\d+)$/.exec(host)?.[1] ?? "80";
  return `wirken_session_${port}`;
}

/**
 * True when `origin` is exactly this server's own origin. Browsers send `Origin` on every
 * WebSocket handshake and on POSTs; a missing one is refused, since only non-browser clients omit
 * it and they have no business with the cookie-authenticated API.
 */
export function sameOrigin(origin: string | undefined, host: string): boolean {
  return origin !== undefined && origin.toLowerCase() === `http://${host.toLowerCase()}`;
}
