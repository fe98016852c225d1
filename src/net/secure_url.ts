/**
 * The one rule for where wirken may send data over HTTP: `https:` anywhere, `http:` only to this
 * machine (a key or a conversation sent in clear to another host is readable on the path), and
 * never credentials inside the URL (they would end up in logs).
 *
 * @module
 */
import { WirkenError } from "../errors.ts";

/** True for hosts that never leave the machine: `localhost`, `127.0.0.0/8`, `::1`. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** A URL that breaks the rule above. */
export class InsecureUrlError extends WirkenError {}

/** Parses `url` and enforces the rule; `what` names the endpoint in messages. */
export function requireSecureUrl(url: string, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InsecureUrlError(`The ${what} URL is not a valid URL.`, {
      fix: "Give a full URL such as https://example.com/path.",
    });
  }
  if (parsed.username || parsed.password) {
    throw new InsecureUrlError(`The ${what} URL must not contain credentials.`, {
      fix: "Remove user:password@ from the URL; keys belong in the vault.",
    });
  }
  if (parsed.protocol === "https:") return parsed;
  if (parsed.protocol === "http:" && isLoopbackHost(parsed.hostname)) return parsed;
  throw new InsecureUrlError(
    `Refusing to use the ${what} at ${parsed.host} over ${parsed.protocol}//.`,
    {
      fix: "Use an https:// URL; http:// is only allowed for this machine (127.0.0.1).",
    },
  );
}
