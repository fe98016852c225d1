/**
 * Egress allow-lists: which hosts an agent's tools (web_fetch, sandboxed exec, MCP HTTP
 * servers, skills) may reach, checked before any connection is made.
 *
 * The rules, in order:
 * 1. Only `http:` and `https:`; never credentials inside the URL.
 * 2. The host must be on the allow-list: an exact name, `*.example.com` (any subdomain, not
 *    the apex), `*` (any name), an IP address or a CIDR range; each optionally `:port`.
 * 3. The host is resolved (`Deno.resolveDns`, A and AAAA, which also reads the hosts file) and
 *    EVERY address must be public, unless an IP/CIDR entry names it explicitly. So a name on
 *    the list that resolves to 127.0.0.1, 10.x, 169.254.169.254 or an IPv6 unique-local
 *    address is still refused. Cloud metadata addresses need their exact address on the list
 *    (a range containing them is not enough).
 * 4. The connection goes to the address that was checked, never to a second lookup (no DNS
 *    rebinding between check and connect): plain HTTP through a `Deno.createHttpClient` whose
 *    transport is a TCP socket to that address (the URL, and so the Host header, stay
 *    unchanged); HTTPS through a loopback CONNECT tunnel that only this request can use
 *    (random proxy credentials) and that connects to the checked address, so TLS is still
 *    end-to-end with SNI and certificate verification for the real host name.
 * 5. Redirects are followed by hand (`redirect: "manual"`), and every hop goes through 1-4.
 *    `Authorization`, `Cookie` and `Proxy-Authorization` are dropped when a redirect leaves
 *    the origin.
 *
 * Limits: the check covers the connection this module makes. Code that calls `fetch` itself,
 * or a child process with network access, is not covered: sandboxes run without network, and
 * {@linkcode startEgressProxy} gives one an HTTPS proxy that applies the same rules. HTTP/3
 * is not used (Deno's fetch speaks HTTP/1.1 and HTTP/2 over TCP only).
 *
 * @module
 */
import { WirkenError } from "../errors.ts";
import { equalStrings } from "../timing_safe.ts";
import {
  ADDRESS_CLASS_MEANING,
  type AddressClass,
  type CanonicalHost,
  canonicalHost,
  type Cidr,
  cidrContains,
  classifyIPv4,
  classifyIPv6,
  parseCidr,
} from "../net/address.ts";

/** Why a connection was refused. */
export type EgressRefusal =
  | "scheme"
  | "credentials"
  | "invalid-host"
  | "not-allowed"
  | "address"
  | "unresolved"
  | "redirects";

/** A refused connection; names the host and the reason. */
export class EgressRefusedError extends WirkenError {
  /** The host as the request named it. */
  readonly host: string;
  /** Machine-readable reason. */
  readonly reason: EgressRefusal;
  /** The address that was refused, when the reason is `address`. */
  readonly address: string | undefined;

  /** Builds the error; `message` already names the host. */
  constructor(
    host: string,
    reason: EgressRefusal,
    message: string,
    fix: string,
    address?: string,
  ) {
    super(message, { fix });
    this.host = host;
    this.reason = reason;
    this.address = address;
  }
}

/** One parsed allow-list entry. */
type Rule =
  | { kind: "any"; port?: number }
  | { kind: "name"; name: string; port?: number }
  | { kind: "suffix"; suffix: string; port?: number }
  | { kind: "net"; net: Cidr; exact: boolean; text: string; port?: number };

/** An allow-list entry that cannot be understood. */
export class EgressConfigError extends WirkenError {}

function parsePort(text: string | undefined, entry: string): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text) || port < 1 || port > 65535) {
    throw new EgressConfigError(`Egress entry "${entry}" has an invalid port.`, {
      fix: "Write host, host:port, *.domain, an IP address or a CIDR range such as 10.0.0.0/8.",
    });
  }
  return port;
}

/** Parses one entry; throws {@linkcode EgressConfigError} when it is not understood. */
function parseRule(entry: string): Rule {
  const e = entry.trim().toLowerCase();
  const bad = () =>
    new EgressConfigError(`Egress entry "${entry}" is not a host, pattern or address.`, {
      fix: "Write host, host:port, *.domain, an IP address or a CIDR range such as 10.0.0.0/8.",
    });
  // [v6]:port, [v6], v6/bits, bare v6
  let m = /^\[([0-9a-f:.]+)\](?::(\d+))?$/.exec(e);
  if (m) {
    const net = parseCidr(m[1]);
    if (!net) throw bad();
    return { kind: "net", net, exact: true, text: m[1], port: parsePort(m[2], entry) };
  }
  if (e.includes("/") || (e.split(":").length > 2)) {
    const net = parseCidr(e);
    if (!net) throw bad();
    const exact = !e.includes("/") || net.bits === (net.family === 4 ? 32 : 128);
    return { kind: "net", net, exact, text: e };
  }
  m = /^([^:]+)(?::(\d+))?$/.exec(e);
  if (!m) throw bad();
  const port = parsePort(m[2], entry);
  const host = m[1];
  if (host === "*") return { kind: "any", port };
  if (host.startsWith("*.")) {
    const rest = host.slice(2);
    let c: CanonicalHost;
    try {
      c = canonicalHost(rest);
    } catch {
      throw bad();
    }
    if (c.kind !== "name" || rest.includes("*")) throw bad();
    return { kind: "suffix", suffix: c.name, port };
  }
  if (host.includes("*")) throw bad();
  let c: CanonicalHost;
  try {
    c = canonicalHost(host);
  } catch {
    throw bad();
  }
  if (c.kind === "name") return { kind: "name", name: c.name, port };
  const net = parseCidr(c.address) as Cidr;
  return { kind: "net", net, exact: true, text: c.address, port };
}

/** A compiled allow-list. Empty: nothing may be reached. */
export class EgressPolicy {
  readonly #rules: readonly Rule[];
  /** The entries as given (for messages and status). */
  readonly entries: readonly string[];

  /** Compiles `entries`; throws {@linkcode EgressConfigError} on the first invalid one. */
  constructor(entries: readonly string[]) {
    this.entries = [...entries];
    this.#rules = entries.map(parseRule);
  }

  /** Is the host name (not an address) on the list for `port`? */
  allowsName(name: string, port: number): boolean {
    const n = name.toLowerCase().replace(/\.$/, "");
    return this.#rules.some((r) => {
      if (r.port !== undefined && r.port !== port) return false;
      if (r.kind === "any") return true;
      if (r.kind === "name") return r.name === n;
      if (r.kind === "suffix") return n.endsWith(`.${r.suffix}`);
      return false;
    });
  }

  /**
   * Is `address` explicitly allowed by an IP/CIDR entry for `port`? Metadata addresses need
   * an exact entry; a range that happens to contain them does not count.
   */
  allowsAddressExplicitly(address: CanonicalHost, port: number, cls: AddressClass): boolean {
    return this.#rules.some((r) =>
      r.kind === "net" && (r.port === undefined || r.port === port) &&
      cidrContains(r.net, address) && (cls !== "metadata" || r.exact)
    );
  }

  /** Does a `*` entry (any public host) apply to `port`? */
  allowsAnyPublic(port: number): boolean {
    return this.#rules.some((r) => r.kind === "any" && (r.port === undefined || r.port === port));
  }
}

/** Resolves a host name to addresses (tests inject a fixed table). */
export type Resolver = (name: string) => Promise<string[]>;

/** The default resolver: A and AAAA through `Deno.resolveDns` (which reads the hosts file). */
export const resolveWithDeno: Resolver = async (name: string): Promise<string[]> => {
  const [a, aaaa] = await Promise.allSettled([
    Deno.resolveDns(name, "A"),
    Deno.resolveDns(name, "AAAA"),
  ]);
  const out: string[] = [];
  if (a.status === "fulfilled") out.push(...a.value);
  if (aaaa.status === "fulfilled") out.push(...aaaa.value);
  return out;
};

/** The outcome of a successful check: where to connect. */
export interface EgressTarget {
  /** The host as the URL names it (canonical form). */
  host: string;
  port: number;
  /** The checked address the connection must go to. */
  address: string;
  family: 4 | 6;
}

/** Options of the checks. */
export interface EgressCheckOptions {
  policy: EgressPolicy;
  /** DNS resolution (default {@linkcode resolveWithDeno}). */
  resolve?: Resolver;
  /** Named in the fix of a refusal, e.g. the agent id. */
  who?: string;
}

function fixFor(who: string | undefined, entry: string): string {
  const where = who ? `the egress allow-list of agent "${who}"` : "the egress allow-list";
  return `If this destination is intended, add "${entry}" to ${where} in config.json.`;
}

function refuseAddress(
  host: string,
  c: CanonicalHost & { kind: "ipv4" | "ipv6" },
  cls: AddressClass,
  viaName: boolean,
  who: string | undefined,
): EgressRefusedError {
  const how = viaName ? `resolves to ${c.address}, which is` : "is";
  return new EgressRefusedError(
    host,
    "address",
    `Refused to connect to ${host}: it ${how} ${ADDRESS_CLASS_MEANING[cls]}.`,
    cls === "metadata"
      ? "Cloud metadata services hand out machine credentials; they are only reachable when their exact address is on the egress allow-list."
      : fixFor(who, c.address),
    c.address,
  );
}

/**
 * Checks that `host:port` may be reached and returns the address to connect to. Throws
 * {@linkcode EgressRefusedError} naming the host and the reason. For sandboxes, MCP HTTP
 * transports and proxies; {@linkcode guardedFetch} calls it for every hop.
 */
export async function checkEgressHost(
  host: string,
  port: number,
  options: EgressCheckOptions,
): Promise<EgressTarget> {
  const { policy, who } = options;
  let c: CanonicalHost;
  try {
    c = canonicalHost(host);
  } catch {
    throw new EgressRefusedError(
      host,
      "invalid-host",
      `Refused to connect to "${host}": it is not a valid host name or address.`,
      "Use a plain host name or IP address.",
    );
  }
  if (c.kind !== "name") {
    const cls = c.kind === "ipv4" ? classifyIPv4(c.value) : classifyIPv6(c.words);
    if (policy.allowsAddressExplicitly(c, port, cls)) {
      return { host: c.address, port, address: c.address, family: c.kind === "ipv4" ? 4 : 6 };
    }
    if (cls !== "public") throw refuseAddress(host, c, cls, false, who);
    if (!policy.allowsAnyPublic(port)) {
      throw new EgressRefusedError(
        host,
        "not-allowed",
        `Refused to connect to ${host}:${port}: it is not on the egress allow-list.`,
        fixFor(who, c.address),
      );
    }
    return { host: c.address, port, address: c.address, family: c.kind === "ipv4" ? 4 : 6 };
  }
  const name = c.name;
  if (!policy.allowsName(name, port)) {
    throw new EgressRefusedError(
      name,
      "not-allowed",
      `Refused to connect to ${name}:${port}: it is not on the egress allow-list.`,
      fixFor(who, name),
    );
  }
  const resolved = await (options.resolve ?? resolveWithDeno)(name);
  if (resolved.length === 0) {
    throw new EgressRefusedError(
      name,
      "unresolved",
      `Refused to connect to ${name}: the name does not resolve to any address.`,
      "Check the spelling and this machine's DNS.",
    );
  }
  let chosen: EgressTarget | undefined;
  // Every address must pass: a resolver answering one public and one private address would
  // otherwise let the connection pick the private one.
  for (const a of resolved) {
    let ac: CanonicalHost;
    try {
      ac = canonicalHost(a);
    } catch {
      continue;
    }
    if (ac.kind === "name") continue;
    const cls = ac.kind === "ipv4" ? classifyIPv4(ac.value) : classifyIPv6(ac.words);
    if (cls !== "public" && !policy.allowsAddressExplicitly(ac, port, cls)) {
      throw refuseAddress(name, ac, cls, true, who);
    }
    chosen ??= { host: name, port, address: ac.address, family: ac.kind === "ipv4" ? 4 : 6 };
  }
  if (!chosen) {
    throw new EgressRefusedError(
      name,
      "unresolved",
      `Refused to connect to ${name}: the resolver returned no usable address.`,
      "Check this machine's DNS.",
    );
  }
  return chosen;
}

/** Checks a URL (scheme, credentials, host) and returns the parsed URL and its target. */
export async function checkEgressUrl(
  url: string | URL,
  options: EgressCheckOptions,
): Promise<{ url: URL; target: EgressTarget }> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new EgressRefusedError(
      String(url),
      "invalid-host",
      "Refused: the URL is not valid.",
      "Give a full URL such as https://example.com/path.",
    );
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new EgressRefusedError(
      u.host || u.protocol,
      "scheme",
      `Refused to fetch ${u.protocol} URLs: only http: and https: may leave the gateway.`,
      "Use an http:// or https:// URL.",
    );
  }
  if (u.username || u.password) {
    throw new EgressRefusedError(
      u.hostname,
      "credentials",
      `Refused to connect to ${u.hostname}: the URL carries credentials.`,
      "Remove user:password@ from the URL; keys belong in the vault.",
    );
  }
  const port = u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
  const target = await checkEgressHost(u.hostname, port, options);
  return { url: u, target };
}

// ---- pinned connections --------------------------------------------------------------------

const MAX_HEAD = 8192;

/** An HTTP request head and the bytes read after it (the start of a body). */
interface Head {
  head: string;
  rest: Uint8Array;
}

/** Reads an HTTP request head (up to the blank line) from `conn`; null when too long/closed. */
async function readHead(conn: Deno.Conn): Promise<Head | null> {
  const buf = new Uint8Array(MAX_HEAD);
  let n = 0;
  while (n < MAX_HEAD) {
    const r = await conn.read(buf.subarray(n));
    if (r === null) return null;
    const from = Math.max(0, n - 3);
    n += r;
    for (let i = from; i + 3 < n; i++) {
      if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
        return {
          head: new TextDecoder().decode(buf.subarray(0, i)),
          rest: buf.slice(i + 4, n),
        };
      }
    }
  }
  return null;
}

/** A CONNECT (and optionally plain HTTP forward) proxy; `decide` maps `host:port` or throws. */
interface Tunnel {
  /** The TCP port, when listening on loopback TCP. */
  port: number | undefined;
  token: string;
  close(): Promise<void>;
}

/** Where a tunnel listens: loopback TCP (an ephemeral port) or a Unix socket path. */
type TunnelListen = { kind: "tcp" } | { kind: "unix"; path: string };

/** Request headers that belong to the hop to the proxy, never forwarded. */
const HOP_HEADERS = /^(proxy-authorization|proxy-connection|connection|keep-alive):/i;

function startTunnel(
  decide: (host: string, port: number) => Promise<EgressTarget>,
  onRefused?: (e: EgressRefusedError) => void,
  options: { listen?: TunnelListen; forwardHttp?: boolean } = {},
): Tunnel {
  const where = options.listen ?? { kind: "tcp" };
  const listener: Deno.Listener = where.kind === "unix"
    ? Deno.listen({ transport: "unix", path: where.path })
    : Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const token = [...crypto.getRandomValues(new Uint8Array(18))].map((b) =>
    b.toString(16).padStart(2, "0")
  ).join("");
  const expected = `Basic ${btoa(`wirken:${token}`)}`;
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  // Aborts connects still pending at close, so closing never waits for a connect timeout.
  const aborter = new AbortController();
  const enc = new TextEncoder();
  const answer = async (conn: Deno.Conn, status: string, reason = "", extra = "") => {
    const body = reason ? `${reason}\n` : "";
    await conn.write(
      enc.encode(
        `HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${
          enc.encode(body).length
        }\r\n${extra}Connection: close\r\n\r\n${body}`,
      ),
    ).catch(() => {});
  };
  /** Where a request goes: CONNECT authority, or an absolute `http:` URL (forwarding). */
  const destination = (
    line: string,
  ):
    | { host: string; port: number; forward?: { method: string; path: string; host: string } }
    | string => {
    const c = /^CONNECT (\S+) HTTP\/1\.[01]$/.exec(line);
    if (c) {
      const hp = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(c[1]);
      if (!hp) return "400 Bad Request";
      return { host: hp[1].replace(/^\[|\]$/g, ""), port: Number(hp[2]) };
    }
    const f = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(line);
    if (!f || !options.forwardHttp) return "405 Method Not Allowed";
    let u: URL;
    try {
      u = new URL(f[2]);
    } catch {
      return "400 Bad Request";
    }
    if (u.protocol !== "http:" || u.username || u.password) return "400 Bad Request";
    return {
      host: u.hostname.replace(/^\[|\]$/g, ""),
      port: u.port ? Number(u.port) : 80,
      forward: { method: f[1], path: `${u.pathname}${u.search}`, host: u.host },
    };
  };
  const handle = async (conn: Deno.Conn) => {
    let upstream: Deno.Conn | undefined;
    try {
      const read = await readHead(conn);
      if (!read) return;
      const lines = read.head.split("\r\n");
      const auth = lines.find((l) => /^proxy-authorization:/i.test(l))?.replace(/^[^:]*:\s*/, "");
      if (auth === undefined || !equalStrings(auth, expected)) {
        return await answer(
          conn,
          "407 Proxy Authentication Required",
          "",
          'Proxy-Authenticate: Basic realm="wirken"\r\n',
        );
      }
      const dest = destination(lines[0]);
      if (typeof dest === "string") {
        return await answer(
          conn,
          dest,
          options.forwardHttp
            ? "Only CONNECT and absolute http:// requests are proxied."
            : "Only CONNECT (https) is proxied.",
        );
      }
      let target: EgressTarget;
      try {
        target = await decide(dest.host, dest.port);
      } catch (e) {
        if (e instanceof EgressRefusedError) {
          onRefused?.(e);
          return await answer(conn, "403 Forbidden", e.message);
        }
        throw e;
      }
      try {
        upstream = await Deno.connect({
          hostname: target.address,
          port: target.port,
          signal: aborter.signal,
        });
      } catch {
        return await answer(conn, "502 Bad Gateway");
      }
      conns.add(upstream);
      const up = upstream;
      if (dest.forward) {
        // One request per connection: `Connection: close` upstream, so a later request on this
        // connection cannot name another host and ride on this checked one.
        // The Host header is the checked URL's: the client's own could name another virtual
        // host on the allowed address (a shared CDN or hosting IP).
        const headers = lines.slice(1).filter((l) => !HOP_HEADERS.test(l) && !/^host:/i.test(l));
        const out = [
          `${dest.forward.method} ${dest.forward.path} HTTP/1.1`,
          `Host: ${dest.forward.host}`,
          ...headers,
        ];
        await up.write(enc.encode(`${out.join("\r\n")}\r\nConnection: close\r\n\r\n`));
        if (read.rest.length > 0) await up.write(read.rest);
      } else {
        await conn.write(enc.encode("HTTP/1.1 200 Connection Established\r\n\r\n"));
        if (read.rest.length > 0) await up.write(read.rest);
      }
      await Promise.allSettled([
        conn.readable.pipeTo(up.writable),
        up.readable.pipeTo(conn.writable),
      ]);
    } catch {
      // A broken tunnel ends the request; the client reports it.
    } finally {
      for (const c of [conn, upstream]) {
        if (!c) continue;
        conns.delete(c);
        try {
          c.close();
        } catch { /* already closed by the pipe */ }
      }
    }
  };
  const acceptLoop = (async () => {
    try {
      for await (const conn of listener) {
        conns.add(conn);
        const t = handle(conn);
        tasks.add(t);
        t.finally(() => tasks.delete(t));
      }
    } catch {
      // Listener closed.
    }
  })();
  let closed = false;
  return {
    port: where.kind === "tcp" ? (listener.addr as Deno.NetAddr).port : undefined,
    token,
    async close() {
      if (closed) return;
      closed = true;
      aborter.abort();
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await acceptLoop;
      await Promise.allSettled([...tasks]);
    },
  };
}

/** An HTTP client whose connections can only reach `target`. */
interface PinnedClient {
  client: Deno.HttpClient;
  close(): Promise<void>;
}

function pinnedClient(url: URL, target: EgressTarget, caCerts?: string[]): PinnedClient {
  const pinned = openPinnedClient(url, target, caCerts);
  // A body can end and then be cancelled too (the MCP SDK does it): closing twice must not throw.
  let closing: Promise<void> | undefined;
  return { client: pinned.client, close: () => closing ??= pinned.close() };
}

function openPinnedClient(url: URL, target: EgressTarget, caCerts?: string[]): PinnedClient {
  if (url.protocol === "http:") {
    const client = Deno.createHttpClient({
      // The transport parses "host:port" as a URI authority: IPv6 needs its brackets.
      proxy: {
        transport: "tcp",
        hostname: target.family === 6 ? `[${target.address}]` : target.address,
        port: target.port,
      },
      poolMaxIdlePerHost: 0,
      caCerts,
    });
    return {
      client,
      close: () => {
        client.close();
        return Promise.resolve();
      },
    };
  }
  const tunnel = startTunnel((host, port) => {
    const h = host.toLowerCase();
    if (h === target.host.toLowerCase() && port === target.port) return Promise.resolve(target);
    return Promise.reject(
      new EgressRefusedError(host, "not-allowed", `Tunnel is pinned to ${target.host}.`, ""),
    );
  });
  const client = Deno.createHttpClient({
    proxy: {
      url: `http://127.0.0.1:${tunnel.port}`,
      basicAuth: { username: "wirken", password: tunnel.token },
    },
    poolMaxIdlePerHost: 0,
    caCerts,
  });
  return {
    client,
    async close() {
      client.close();
      await tunnel.close();
    },
  };
}

/** Options of {@linkcode guardedFetch}. */
export interface GuardedFetchOptions extends EgressCheckOptions {
  /** Redirect hops followed at most (default 5); each is checked like the first request. */
  maxRedirects?: number;
  /** Extra CA certificates (PEM), e.g. a corporate root or a test CA. */
  caCerts?: string[];
  /** Called with every refusal before it is thrown (audit hook). */
  onRefused?: (error: EgressRefusedError) => void;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

/**
 * `fetch` restricted by an egress policy: every hop is checked after DNS resolution and the
 * connection is pinned to the checked address (see the module comment). Redirects are
 * followed up to `maxRedirects`, unless `init.redirect` is `"manual"`: then the 3xx response
 * is returned and the caller's next call is checked again. Throws
 * {@linkcode EgressRefusedError} when refused.
 *
 * The returned body must be read to the end or cancelled: that releases the pinned client.
 * Only replayable bodies (string, bytes, `URLSearchParams`, `FormData`, `Blob`) survive a
 * 307/308 redirect; a stream body makes such a redirect fail.
 */
export async function guardedFetch(
  input: string | URL,
  init: RequestInit = {},
  options: GuardedFetchOptions,
): Promise<Response> {
  const max = options.maxRedirects ?? 5;
  let url: URL | string = input;
  let method = (init.method ?? "GET").toUpperCase();
  let body = init.body ?? null;
  const headers = new Headers(init.headers);
  let origin: string | undefined;
  for (let hop = 0;; hop++) {
    let checked: { url: URL; target: EgressTarget };
    try {
      checked = await checkEgressUrl(url, options);
    } catch (e) {
      if (e instanceof EgressRefusedError) options.onRefused?.(e);
      throw e;
    }
    if (origin !== undefined && checked.url.origin !== origin) {
      for (const h of CREDENTIAL_HEADERS) headers.delete(h);
    }
    origin ??= checked.url.origin;
    const pinned = pinnedClient(checked.url, checked.target, options.caCerts);
    let res: Response;
    try {
      res = await fetch(checked.url, {
        ...init,
        method,
        headers,
        body,
        redirect: "manual",
        client: pinned.client,
      });
    } catch (e) {
      await pinned.close();
      throw e;
    }
    const location = res.headers.get("location");
    // `redirect: "manual"` from the caller: it follows redirects itself (and calls again).
    if (REDIRECTS.has(res.status) && location !== null && init.redirect !== "manual") {
      await res.body?.cancel().catch(() => {});
      await pinned.close();
      if (hop >= max) {
        const e = new EgressRefusedError(
          checked.url.hostname,
          "redirects",
          `Refused to follow more than ${max} redirects (last from ${checked.url.hostname}).`,
          "Fetch the final URL directly.",
        );
        options.onRefused?.(e);
        throw e;
      }
      const next = new URL(location, checked.url);
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        if (method !== "HEAD") method = "GET";
        body = null;
        headers.delete("content-type");
        headers.delete("content-length");
      } else if (body instanceof ReadableStream) {
        throw new EgressRefusedError(
          next.hostname,
          "redirects",
          `Cannot follow the ${res.status} redirect to ${next.hostname}: the body was a stream.`,
          "Send the body as a string or bytes.",
        );
      }
      origin = checked.url.origin;
      url = next;
      continue;
    }
    return releasing(res, pinned, checked.url, init.signal);
  }
}

/**
 * Wraps `res` so the pinned client is released when its body ends, is cancelled, or the
 * caller's `signal` aborts.
 *
 * The abort is wired here on purpose, not left to `fetch`: Deno (2.9.6) follows the caller's
 * signal through the request's own dependent signal, which the caller's signal holds only
 * weakly. Once the `Request` and `Response` objects are garbage (this wrapper keeps only a
 * reader of the body), a GC drops that link and a later abort no longer reaches the body: the
 * read never ends, the connection stays open, and a server's `shutdown()` waits forever. That
 * is what hung the MCP SDK's standalone GET event stream on `close()` (it aborts its
 * controller) whenever a GC ran in between, e.g. under `deno test --coverage`. Standalone
 * repro, run with `deno run -A --v8-flags=--expose-gc`:
 *
 *     const s = Deno.serve({ port: 0 }, () => new Response(new ReadableStream({
 *       start(c) { c.enqueue(new Uint8Array(1)); } })));
 *     const ac = new AbortController();
 *     const reader = await (async () => (await fetch(`http://127.0.0.1:${s.addr.port}/`,
 *       { signal: ac.signal })).body!.getReader())();
 *     await reader.read();
 *     const next = reader.read();   // pending: the server never ends the stream
 *     gc(); await new Promise((r) => setTimeout(r, 50));
 *     ac.abort();
 *     await next;                   // never settles; keeping the Response alive avoids it
 *
 * A listener on the caller's signal is held strongly by that signal, so it survives any GC; it
 * is removed when the body ends, so a long-lived controller does not collect listeners.
 */
function releasing(
  res: Response,
  pinned: PinnedClient,
  url: URL,
  signal: AbortSignal | null | undefined,
): Response {
  if (res.body === null) {
    void pinned.close();
    return res;
  }
  const reader = res.body.getReader();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let ended = false;
  // True exactly once: whoever ends the body first (end, error, cancel, abort) settles it.
  const end = (): boolean => {
    if (ended) return false;
    ended = true;
    signal?.removeEventListener("abort", onAbort);
    return true;
  };
  function onAbort(): void {
    if (!end()) return;
    const reason = signal?.reason;
    controller.error(reason);
    // Cancelling the inner body drops its connection, so the server sees the request end.
    void reader.cancel(reason).catch(() => {}).finally(() => pinned.close());
  }
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    async pull(c) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (end()) c.error(e);
        await pinned.close();
        return;
      }
      if (chunk.done) {
        if (!end()) return;
        await pinned.close();
        c.close();
      } else if (!ended) c.enqueue(chunk.value);
    },
    async cancel(reason) {
      end();
      await reader.cancel(reason).catch(() => {});
      await pinned.close();
    },
  });
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  const out = new Response(stream, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
  Object.defineProperty(out, "url", { value: url.href });
  return out;
}

/** A running egress proxy. */
export interface EgressProxy {
  /**
   * `http://wirken:<token>@127.0.0.1:<port>` for a TCP proxy (`HTTPS_PROXY` of a child);
   * `unix:<path>` for a Unix socket proxy (reached through a relay, see `src/sandbox/`).
   */
  url: string;
  /** The loopback TCP port (TCP proxies only). */
  port: number | undefined;
  /** The Unix socket path (socket proxies only). */
  path: string | undefined;
  /** The credentials a client must send (`Proxy-Authorization: Basic`). */
  credentials: { username: string; password: string };
  close(): Promise<void>;
}

/** Options of {@linkcode startEgressProxy}. */
export interface EgressProxyOptions extends EgressCheckOptions {
  /** Called with every refusal (audit hook). */
  onRefused?: (e: EgressRefusedError) => void;
  /**
   * Listen on this Unix socket instead of a loopback TCP port (for a sandbox in its own
   * network namespace: the socket is bound into it). The caller owns the folder.
   */
  path?: string;
}

/**
 * Starts an egress proxy applying `options` to every connection, for a sandbox, a skill or an
 * MCP server that needs network: give it this as `HTTP_PROXY`/`HTTPS_PROXY` and no other
 * route out. It serves CONNECT (https, TLS stays end to end) and absolute-form plain `http://`
 * requests (one request per connection). Each destination is checked like
 * {@linkcode guardedFetch} checks a URL: allow-list, then every resolved address, and the
 * connection goes to the checked address. The credentials are random per proxy, so other
 * local processes cannot use it.
 */
export function startEgressProxy(options: EgressProxyOptions): EgressProxy {
  const tunnel = startTunnel(
    (host, port) => checkEgressHost(host, port, options),
    options.onRefused,
    {
      listen: options.path ? { kind: "unix", path: options.path } : { kind: "tcp" },
      forwardHttp: true,
    },
  );
  return {
    url: tunnel.port === undefined
      ? `unix:${options.path}`
      : `http://wirken:${tunnel.token}@127.0.0.1:${tunnel.port}`,
    port: tunnel.port,
    path: options.path,
    credentials: { username: "wirken", password: tunnel.token },
    close: () => tunnel.close(),
  };
}

/** The parts of `config.json` the allow-list is read from. */
export interface EgressConfigView {
  egress?: { allow: readonly string[] };
  agents?: readonly { id: string; egress?: { allow: readonly string[] } }[];
}

/**
 * The allow-list of one agent: the global `egress.allow` entries plus the agent's own
 * `agents[].egress.allow`. Throws {@linkcode EgressConfigError} naming an invalid entry.
 */
export function egressPolicyFor(config: EgressConfigView, agentId: string): EgressPolicy {
  const own = config.agents?.find((a) => a.id === agentId)?.egress?.allow ?? [];
  return new EgressPolicy([...(config.egress?.allow ?? []), ...own]);
}
