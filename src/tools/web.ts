/**
 * The web tools: `web_search` (tier 1, a pluggable backend from config: SearXNG or Brave) and
 * `web_fetch` (tier 2: HTTPS only, size and time capped, HTML reduced to text).
 *
 * `web_fetch` refuses URLs with credentials, non-HTTPS schemes (also after each redirect,
 * which is followed by hand, at most five), and hosts that are or resolve to loopback,
 * private, link-local (cloud metadata) or otherwise non-public addresses, so the model cannot
 * use it to reach the gateway's own network. Under an egress allow-list (the gateway always
 * has one) that address rule is the guard's: an explicit IP or CIDR entry allows exactly that
 * range, and a name entry never unlocks a private address. Residual risk, documented: DNS could answer
 * differently between our check and the fetch (rebinding); HTTPS certificate checks make that
 * hard to exploit for anything but a name the attacker owns.
 *
 * @module
 */
import { z } from "zod";
import { defineTool, type Tool, type ToolContext } from "./types.ts";
import { EgressRefusedError, guardedFetch, type GuardedFetchOptions } from "../guard/egress.ts";

/** Search backend settings (config `tools.webSearch`). */
export interface SearchBackend {
  kind: "searxng" | "brave";
  url: string;
  credential?: string;
}

/** What the web tools need. */
export interface WebToolOptions {
  search?: SearchBackend;
  /** Reads a vault credential (the Brave API key); absent: credentials cannot be used. */
  getCredential?: (name: string) => Promise<string>;
  /** Largest body read by web_fetch. */
  maxBytes: number;
  /** Time limit of one request. */
  timeoutMs: number;
  /** Injected in tests; default the global fetch. */
  fetch?: typeof fetch;
  /** Name resolution for the private-address check; default A + AAAA via Deno.resolveDns. */
  resolveHost?: (host: string) => Promise<string[]>;
  /** Tests only: skip the private-address check. */
  allowPrivateAddresses?: boolean;
  /**
   * The agent's egress allow-list: when set, web_fetch goes through `guardedFetch` (allow-list,
   * address check after DNS, connection pinned to the checked address: no rebinding window).
   */
  egress?: (agentId: string) => GuardedFetchOptions;
}

/** Why a URL was refused. */
export class UrlRefused extends Error {}

function ipv4Parts(ip: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

/** True for addresses a public web page never has (loopback, private, link-local, ...). */
export function isNonPublicAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, "").toLowerCase();
  const v4 = ipv4Parts(ip);
  if (v4) {
    const [a, b] = v4;
    return a === 0 || a === 10 || a === 127 || a >= 224 ||
      (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) ||
      (a === 192 && b === 0 && v4[2] === 0) || (a === 198 && (b === 18 || b === 19));
  }
  if (!ip.includes(":")) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped) return isNonPublicAddress(mapped[1]);
  // The URL parser rewrites ::ffff:127.0.0.1 as ::ffff:7f00:1.
  const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
  if (hexMapped) {
    const hi = parseInt(hexMapped[1], 16);
    const lo = parseInt(hexMapped[2], 16);
    return isNonPublicAddress(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
  }
  if (ip === "::" || ip === "::1") return true;
  const first = parseInt(ip.split(":")[0] || "0", 16);
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
}

async function defaultResolve(host: string): Promise<string[]> {
  const results = await Promise.allSettled([
    Deno.resolveDns(host, "A"),
    Deno.resolveDns(host, "AAAA"),
  ]);
  return results.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
}

/**
 * Checks a URL web_fetch may open; throws {@linkcode UrlRefused} with the reason. With
 * `addressCheck: "guard"` only the scheme and credentials are checked here: the egress guard then
 * checks the host against the allow-list and every resolved address (src/guard/egress.ts).
 */
export async function checkFetchUrl(
  raw: string,
  options: WebToolOptions,
  addressCheck: "here" | "guard" = "here",
): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UrlRefused("not a valid URL");
  }
  if (url.protocol !== "https:") {
    throw new UrlRefused(`only https:// URLs are fetched, not ${url.protocol}`);
  }
  if (url.username || url.password) throw new UrlRefused("URLs with credentials are refused");
  if (options.allowPrivateAddresses || addressCheck === "guard") return url;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local")) {
    throw new UrlRefused(`${host} is a local name`);
  }
  if (ipv4Parts(host) || host.includes(":")) {
    if (isNonPublicAddress(host)) throw new UrlRefused(`${host} is not a public address`);
    return url;
  }
  const addresses = await (options.resolveHost ?? defaultResolve)(host);
  if (addresses.length === 0) throw new UrlRefused(`${host} does not resolve`);
  const bad = addresses.find(isNonPublicAddress);
  if (bad) throw new UrlRefused(`${host} resolves to ${bad}, which is not a public address`);
  return url;
}

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
};

/** Reduces HTML to readable text: scripts and styles dropped, blocks on their own lines. */
export function htmlToText(html: string): { title: string; text: string } {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1] ?? "";
  const body = html
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<(script|style|noscript|svg|template|head)\b[\s\S]*?<\/\1\s*>/gi, "")
    .replace(/<(br|hr)\b[^>]*>/gi, "\n")
    .replace(
      /<\/(p|div|li|tr|h[1-6]|section|article|header|footer|blockquote|pre|table)\s*>/gi,
      "\n",
    )
    .replace(/<li\b[^>]*>/gi, "- ")
    .replace(/<[^>]+>/g, "");
  const decode = (s: string) =>
    s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, code: string) => {
      if (code[0] === "#") {
        const n = code[1].toLowerCase() === "x"
          ? parseInt(code.slice(2), 16)
          : parseInt(code.slice(1), 10);
        return Number.isFinite(n) && n > 0 && n < 0x110000 ? String.fromCodePoint(n) : whole;
      }
      return ENTITIES[code.toLowerCase()] ?? whole;
    });
  const text = decode(body)
    .split("\n")
    .map((l) => l.replace(/[ \t\r\f\v]+/g, " ").trim())
    .filter((l, i, all) => l !== "" || (i > 0 && all[i - 1] !== ""))
    .join("\n")
    .trim();
  return { title: decode(title).trim(), text };
}

async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (!body) return { bytes: new Uint8Array(), truncated: false };
  const out = new Uint8Array(max);
  let length = 0;
  let truncated = false;
  const reader = body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(value.length, max - length);
      out.set(value.subarray(0, take), length);
      length += take;
      if (take < value.length || length >= max) {
        truncated = take < value.length || !(await reader.read()).done;
        break;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return { bytes: out.slice(0, length), truncated };
}

function signalFor(ctx: ToolContext, timeoutMs: number): AbortSignal {
  return AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
}

const SearxResults = z.object({
  results: z.array(z.object({
    title: z.string().optional(),
    url: z.string(),
    content: z.string().optional(),
  })).default([]),
});
const BraveResults = z.object({
  web: z.object({
    results: z.array(z.object({
      title: z.string().optional(),
      url: z.string(),
      description: z.string().optional(),
    })).default([]),
  }).optional(),
});

/** Builds `web_search` and `web_fetch`. */
export function webTools(options: WebToolOptions): Tool[] {
  const doFetch = options.fetch ?? fetch;

  const webSearch = defineTool({
    name: "web_search",
    description: "Search the web. Returns titles, URLs and snippets.",
    tier: 1,
    inputSchema: z.strictObject({
      query: z.string().min(1).max(400).describe("What to search for."),
      count: z.number().int().min(1).max(10).optional().describe("Results wanted (default 5)."),
    }),
    run: async (input, ctx) => {
      const backend = options.search;
      if (!backend) {
        return {
          content:
            "web_search has no backend configured. Tell the user to set tools.webSearch in config.json " +
            '(e.g. {"kind": "searxng", "url": "https://searx.example"} or {"kind": "brave", ' +
            '"url": "https://api.search.brave.com/res/v1/web/search", "credential": "brave.api_key"}).',
          isError: true,
        };
      }
      const count = input.count ?? 5;
      const signal = signalFor(ctx, options.timeoutMs);
      let items: Array<{ title: string; url: string; snippet: string }>;
      if (backend.kind === "searxng") {
        const url = new URL("search", backend.url.endsWith("/") ? backend.url : backend.url + "/");
        url.searchParams.set("q", input.query);
        url.searchParams.set("format", "json");
        const res = await doFetch(url, { signal, headers: { accept: "application/json" } });
        if (!res.ok) {
          await res.body?.cancel();
          return { content: `The search backend answered HTTP ${res.status}.`, isError: true };
        }
        const body = SearxResults.parse(
          JSON.parse(new TextDecoder().decode((await readCapped(res.body, 4 << 20)).bytes)),
        );
        items = body.results.map((r) => ({
          title: r.title ?? "",
          url: r.url,
          snippet: r.content ?? "",
        }));
      } else {
        if (!backend.credential || !options.getCredential) {
          return {
            content:
              "The Brave backend needs tools.webSearch.credential naming a vault credential with the API key.",
            isError: true,
          };
        }
        const key = await options.getCredential(backend.credential);
        const url = new URL(backend.url);
        url.searchParams.set("q", input.query);
        url.searchParams.set("count", String(count));
        const res = await doFetch(url, {
          signal,
          headers: { accept: "application/json", "x-subscription-token": key },
        });
        if (!res.ok) {
          await res.body?.cancel();
          return { content: `The search backend answered HTTP ${res.status}.`, isError: true };
        }
        const body = BraveResults.parse(
          JSON.parse(new TextDecoder().decode((await readCapped(res.body, 4 << 20)).bytes)),
        );
        items = (body.web?.results ?? []).map((r) => ({
          title: r.title ?? "",
          url: r.url,
          snippet: r.description ?? "",
        }));
      }
      if (items.length === 0) return { content: `No results for "${input.query}".` };
      return {
        content: items.slice(0, count).map((r, i) =>
          `${i + 1}. ${htmlToText(r.title).text}\n   ${r.url}\n   ${htmlToText(r.snippet).text}`
        ).join("\n"),
      };
    },
  });

  const webFetch = defineTool({
    name: "web_fetch",
    description:
      "Fetch an https:// page and return its text (HTML reduced to text; size and time limited).",
    tier: 2,
    inputSchema: z.strictObject({
      url: z.string().min(1).max(2048).describe("The https:// URL."),
    }),
    run: async (input, ctx) => {
      const signal = signalFor(ctx, options.timeoutMs);
      const egress = options.egress?.(ctx.agentId);
      const pageFetch: typeof fetch = egress
        ? (u, init) => guardedFetch(u instanceof Request ? u.url : u, init, egress)
        : doFetch;
      let current = input.url;
      for (let hop = 0; hop <= 5; hop++) {
        let url: URL;
        try {
          // Under an egress allow-list the guard alone judges addresses: an IP or CIDR entry
          // is the user's way to allow a private or loopback address, and a second, stricter
          // check here would refuse it anyway. A name entry still never reaches a private
          // address unless an IP/CIDR entry names that address.
          url = await checkFetchUrl(current, options, egress ? "guard" : "here");
        } catch (e) {
          if (e instanceof UrlRefused) return { content: `Refused: ${e.message}.`, isError: true };
          throw e;
        }
        let res: Response;
        try {
          res = await pageFetch(url, {
            signal,
            redirect: "manual",
            headers: { accept: "text/html,text/plain,application/json;q=0.9,*/*;q=0.5" },
          });
        } catch (e) {
          if (signal.aborted) {
            return {
              content: `Stopped: no complete answer within ${options.timeoutMs} ms.`,
              isError: true,
            };
          }
          if (e instanceof EgressRefusedError) {
            // The message starts with "Refused"; its fix (edit config) is for the owner, not
            // for a model that may be reading an attacker's page.
            return { content: e.message, isError: true };
          }
          return { content: `Could not fetch ${url.href}: ${(e as Error).message}`, isError: true };
        }
        if (res.status >= 300 && res.status < 400 && res.headers.has("location")) {
          await res.body?.cancel();
          current = new URL(res.headers.get("location")!, url).href;
          continue;
        }
        let body: { bytes: Uint8Array; truncated: boolean };
        try {
          body = await readCapped(res.body, options.maxBytes);
        } catch {
          return {
            content: `Stopped: no complete answer within ${options.timeoutMs} ms.`,
            isError: true,
          };
        }
        const type = (res.headers.get("content-type") ?? "").toLowerCase();
        const head = `HTTP ${res.status} ${url.href}` +
          (body.truncated ? ` [truncated at ${options.maxBytes} bytes]` : "");
        if (
          !/^(text\/|application\/(json|xml|xhtml|ld\+json|javascript))/.test(type) && type !== ""
        ) {
          return { content: `${head}\nContent type ${type}; not shown.`, isError: !res.ok };
        }
        const text = new TextDecoder().decode(body.bytes);
        if (type.includes("html") || (type === "" && /<html|<body/i.test(text))) {
          const page = htmlToText(text);
          return {
            content: `${head}\n${page.title ? `# ${page.title}\n` : ""}${page.text}`,
            isError: !res.ok,
          };
        }
        return { content: `${head}\n${text}`, isError: !res.ok };
      }
      return { content: "Refused: more than 5 redirects.", isError: true };
    },
  });

  return [webSearch, webFetch] as Tool[];
}
