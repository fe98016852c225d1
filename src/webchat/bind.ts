/**
 * Where WebChat may listen. Loopback by default; any other address puts the login link and the
 * session cookie on a network, so it is allowed only with TLS (a certificate and key from the
 * config). The gateway calls {@linkcode checkBind} before it starts listening.
 *
 * @module
 */
import { WirkenError } from "../errors.ts";

/** The listen settings the gateway derives from config. */
export interface BindSettings {
  hostname: string;
  /** PEM file paths; both or neither. */
  tls?: { certFile: string; keyFile: string } | null;
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return v4 !== null && v4.slice(1).every((p) => Number(p) <= 255);
}

/** Throws a WirkenError (with the fix) when `settings` would serve WebChat off-host in clear. */
export function checkBind(settings: BindSettings): void {
  if (isLoopback(settings.hostname)) return;
  if (settings.tls?.certFile && settings.tls.keyFile) return;
  throw new WirkenError(
    `WebChat will not listen on ${settings.hostname} without TLS: the login link and session ` +
      `cookie would cross the network in clear text.`,
    {
      fix:
        "Keep the default loopback address (127.0.0.1), or set a TLS certificate and key for WebChat in the config.",
    },
  );
}
