/**
 * Egress rules for MCP servers reached over HTTP: every request of the SDK's transport goes
 * through `guardedFetch`, so the server's host is checked after DNS resolution, the connection
 * is pinned to the checked address, and a redirect is checked again (the SDK's own
 * `same-origin` redirect rule stays on top of that).
 *
 * Which hosts: the global `egress.allow` list, plus the server's own URL, which counts as
 * allowed because an administrator wrote it into `config.json`. "Allowed" means its exact
 * `host:port`, not a wildcard, and not a licence for any address: a name still has to resolve
 * to public addresses. The exceptions are the forms that can only mean this machine or a
 * fixed address: an IP literal in the URL (`http://127.0.0.1:3000/mcp`) allows that address
 * and port, and `localhost` allows 127.0.0.1 and ::1 on that port. Any other name that
 * resolves to a private, loopback or metadata address needs that address on the allow-list.
 *
 * Agent allow-lists (`agents[].egress`) do not apply: one connection to a server serves every
 * agent, so it cannot be narrower per agent.
 *
 * @module
 */
import {
  EgressPolicy,
  type EgressRefusedError,
  guardedFetch,
  type Resolver,
} from "../guard/egress.ts";

/** The `fetch` shape the MCP SDK's transports accept. */
export type McpFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** Egress settings of the MCP manager. */
export interface McpEgressOptions {
  /** Allow-list entries shared by every server (the gateway passes `egress.allow`). */
  allow?: readonly string[];
  /** DNS resolution (tests inject a table). */
  resolve?: Resolver;
  /** Called with every refused connection (the gateway audits it). */
  onRefused?: (server: string, error: EgressRefusedError) => void;
}

/** The allow-list entries a server's own URL contributes (see the module comment). */
export function implicitEntries(url: URL): string[] {
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  const host = url.hostname.toLowerCase();
  if (host === "localhost") return [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`];
  // `URL` keeps IPv6 literals in brackets, which is the form the allow-list reads too.
  return [`${host}:${port}`];
}

/** The policy for one server: the shared entries plus its own URL. */
export function mcpEgressPolicy(url: URL, allow: readonly string[] = []): EgressPolicy {
  return new EgressPolicy([...allow, ...implicitEntries(url)]);
}

/** A `fetch` for the transport of the server `name` at `url` that applies the policy. */
export function mcpFetch(name: string, url: URL, options: McpEgressOptions = {}): McpFetch {
  const policy = mcpEgressPolicy(url, options.allow);
  const onRefused = options.onRefused;
  return (input, init) =>
    guardedFetch(input, init, {
      policy,
      resolve: options.resolve,
      onRefused: onRefused ? (e) => onRefused(name, e) : undefined,
    });
}
