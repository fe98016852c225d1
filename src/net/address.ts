/**
 * IP addresses: parsing every spelling a URL or a tool argument may use, and classifying what
 * an address reaches (this machine, a private network, a cloud metadata service, the
 * internet). Egress checks use it after DNS resolution, so the answer is about the address a
 * connection will actually go to, not about how the host was written.
 *
 * @module
 */

/** What an address reaches. Everything but `public` stays inside some local boundary. */
export type AddressClass =
  | "public"
  | "loopback"
  | "private"
  | "link-local"
  | "cgnat"
  | "unique-local"
  | "multicast"
  | "metadata"
  | "unspecified"
  | "broadcast"
  | "documentation"
  | "reserved";

/** A human phrase for each class, used in refusal messages. */
export const ADDRESS_CLASS_MEANING: Readonly<Record<AddressClass, string>> = {
  public: "a public internet address",
  loopback: "a loopback address (this machine)",
  private: "a private network address",
  "link-local": "a link-local address",
  cgnat: "a carrier-grade NAT (shared) address",
  "unique-local": "an IPv6 unique-local (private) address",
  multicast: "a multicast address",
  metadata: "a cloud metadata service address",
  unspecified: "the unspecified address (reaches this machine)",
  broadcast: "the broadcast address",
  documentation: "an address reserved for documentation",
  reserved: "a reserved or tunnelling address",
};

/** A host as written, reduced to one canonical form. */
export type CanonicalHost =
  | { kind: "ipv4"; address: string; value: number }
  | { kind: "ipv6"; address: string; words: Uint16Array }
  | { kind: "name"; name: string };

/** Parses a dotted quad (the canonical form only) into a 32-bit unsigned number, or null. */
export function parseIPv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const part = Number(m[i]);
    if (part > 255 || (m[i].length > 1 && m[i][0] === "0")) return null;
    v = v * 256 + part;
  }
  return v;
}

/** Formats a 32-bit number as a dotted quad. */
export function formatIPv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

/** Parses an IPv6 address (with `::` and an optional trailing dotted quad) into 8 words. */
export function parseIPv6(text: string): Uint16Array | null {
  const t = text.replace(/^\[|\]$/g, "").toLowerCase();
  if (t.includes("%") || !/^[0-9a-f:.]+$/.test(t)) return null;
  const halves = t.split("::");
  if (halves.length > 2) return null;
  const parseSide = (side: string): number[] | null => {
    if (side === "") return [];
    const out: number[] = [];
    const parts = side.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIPv4(p);
        if (v4 === null) return null;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-f]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = parseSide(halves[0]);
  const tail = halves.length === 2 ? parseSide(halves[1]) : [];
  if (!head || !tail) return null;
  const words = new Uint16Array(8);
  if (halves.length === 1) {
    if (head.length !== 8) return null;
    words.set(head);
  } else {
    if (head.length + tail.length > 7) return null;
    words.set(head, 0);
    words.set(tail, 8 - tail.length);
  }
  return words;
}

/** Compressed lowercase text of 8 words (RFC 5952 style). */
export function formatIPv6(words: Uint16Array): string {
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = [...words].map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/**
 * The canonical form of `host` as a URL would connect to it. The WHATWG URL parser does the
 * normalising every HTTP client also does: `2130706433`, `0x7f000001`, `0177.0.0.1` and
 * `127.1` all become `127.0.0.1`, and IDN names become punycode. Throws `TypeError` when
 * `host` is not a valid host.
 */
export function canonicalHost(host: string): CanonicalHost {
  let h = host.trim();
  if (h.includes(":") && !h.startsWith("[")) h = `[${h}]`;
  const parsed = new URL(`http://${h}/`).hostname;
  if (parsed.startsWith("[")) {
    const words = parseIPv6(parsed);
    if (!words) throw new TypeError(`Invalid IPv6 address: ${host}`);
    return { kind: "ipv6", address: formatIPv6(words), words };
  }
  const v4 = parseIPv4(parsed);
  if (v4 !== null) return { kind: "ipv4", address: parsed, value: v4 };
  if (parsed === "") throw new TypeError("Empty host");
  return { kind: "name", name: parsed.replace(/\.$/, "") };
}

/** The IPv4 address carried inside an IPv6 one (mapped, compatible, NAT64, 6to4), or null. */
function embeddedIPv4(w: Uint16Array): { value: number; how: "mapped" | "other" } | null {
  const zeros = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && w[5] === 0xffff) return { value: w[6] * 65536 + w[7], how: "mapped" };
  // IPv4-translated (::ffff:0:a.b.c.d, RFC 2765).
  if (zeros(0, 4) && w[4] === 0xffff && w[5] === 0) {
    return { value: w[6] * 65536 + w[7], how: "mapped" };
  }
  if (zeros(0, 6) && (w[6] !== 0 || w[7] > 1)) return { value: w[6] * 65536 + w[7], how: "other" };
  if (w[0] === 0x64 && w[1] === 0xff9b && zeros(2, 6)) {
    return { value: w[6] * 65536 + w[7], how: "mapped" };
  }
  if (w[0] === 0x2002) return { value: w[1] * 65536 + w[2], how: "mapped" };
  return null;
}

/** Is `v` inside `base/bits` (IPv4)? */
function in4(v: number, base: string, bits: number): boolean {
  const b = parseIPv4(base) as number;
  if (bits === 0) return true;
  const mask = bits === 32 ? 0xffffffff : (~((1 << (32 - bits)) - 1)) >>> 0;
  return ((v & mask) >>> 0) === ((b & mask) >>> 0);
}

/** Addresses of cloud metadata services (AWS/GCP/Azure/Oracle, Alibaba, Azure wireserver). */
const METADATA_V4 = ["169.254.169.254", "169.254.170.2", "100.100.100.200", "168.63.129.16"];

/** Classifies an IPv4 address given as a number. */
export function classifyIPv4(v: number): AddressClass {
  if (METADATA_V4.some((m) => parseIPv4(m) === v)) return "metadata";
  if (v === 0xffffffff) return "broadcast";
  if (in4(v, "0.0.0.0", 8)) return "unspecified";
  if (in4(v, "127.0.0.0", 8)) return "loopback";
  if (in4(v, "10.0.0.0", 8) || in4(v, "172.16.0.0", 12) || in4(v, "192.168.0.0", 16)) {
    return "private";
  }
  if (in4(v, "100.64.0.0", 10)) return "cgnat";
  if (in4(v, "169.254.0.0", 16)) return "link-local";
  if (in4(v, "224.0.0.0", 4)) return "multicast";
  if (in4(v, "192.0.2.0", 24) || in4(v, "198.51.100.0", 24) || in4(v, "203.0.113.0", 24)) {
    return "documentation";
  }
  if (
    in4(v, "192.0.0.0", 24) || in4(v, "192.88.99.0", 24) || in4(v, "198.18.0.0", 15) ||
    in4(v, "240.0.0.0", 4)
  ) return "reserved";
  return "public";
}

/** Classifies an IPv6 address given as 8 words. */
export function classifyIPv6(w: Uint16Array): AddressClass {
  const text = formatIPv6(w);
  if (text === "::") return "unspecified";
  if (text === "::1") return "loopback";
  if (text === "fd00:ec2::254") return "metadata";
  const v4 = embeddedIPv4(w);
  if (v4) {
    const c = classifyIPv4(v4.value);
    // A public IPv4 inside a deprecated form is still not a route anyone needs.
    return c === "public" && v4.how === "other" ? "reserved" : c;
  }
  const top = w[0];
  if ((top & 0xfe00) === 0xfc00) return "unique-local";
  if ((top & 0xffc0) === 0xfe80) return "link-local";
  if ((top & 0xffc0) === 0xfec0) return "private"; // site-local, deprecated but still routed
  if ((top & 0xff00) === 0xff00) return "multicast";
  if (top === 0x2001 && w[1] === 0x0db8) return "documentation";
  if (top === 0x2001 && w[1] === 0) return "reserved"; // Teredo hides an IPv4 address
  if (top === 0x0064 && w[1] === 0xff9b && w[2] === 1) return "private"; // local-use NAT64
  if (top === 0x0100 && w[1] === 0 && w[2] === 0 && w[3] === 0) return "reserved"; // discard
  if (top < 0x0100) return "reserved"; // ::/8 besides the forms handled above
  return "public";
}

/** Classifies an address in any spelling; names are not addresses and throw `TypeError`. */
export function classifyAddress(address: string): AddressClass {
  const c = canonicalHost(address);
  if (c.kind === "ipv4") return classifyIPv4(c.value);
  if (c.kind === "ipv6") return classifyIPv6(c.words);
  throw new TypeError(`Not an IP address: ${address}`);
}

/** An IPv4 or IPv6 network, `address/bits`. */
export interface Cidr {
  family: 4 | 6;
  /** Network words: one 32-bit value for IPv4, 8 words for IPv6. */
  base: number | Uint16Array;
  bits: number;
}

/** Parses `10.0.0.0/8`, `fd00::/8`, or a single address (a /32 or /128); null when invalid. */
export function parseCidr(text: string): Cidr | null {
  const [addr, bitsText, extra] = text.trim().split("/");
  if (extra !== undefined) return null;
  let c: CanonicalHost;
  try {
    c = canonicalHost(addr);
  } catch {
    return null;
  }
  if (c.kind === "name") return null;
  const max = c.kind === "ipv4" ? 32 : 128;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > max || !/^\d*$/.test(bitsText ?? "")) {
    return null;
  }
  return c.kind === "ipv4"
    ? { family: 4, base: c.value, bits }
    : { family: 6, base: c.words, bits };
}

/** Is the canonical address `c` inside `net`? An IPv4-mapped IPv6 address counts as IPv4. */
export function cidrContains(net: Cidr, c: CanonicalHost): boolean {
  if (c.kind === "name") return false;
  let v4: number | null = c.kind === "ipv4" ? c.value : null;
  if (c.kind === "ipv6") {
    const e = embeddedIPv4(c.words);
    if (e?.how === "mapped" && net.family === 4) v4 = e.value;
  }
  if (net.family === 4) {
    if (v4 === null) return false;
    const b = net.base as number;
    if (net.bits === 0) return true;
    const mask = net.bits === 32 ? 0xffffffff : (~((1 << (32 - net.bits)) - 1)) >>> 0;
    return ((v4 & mask) >>> 0) === ((b & mask) >>> 0);
  }
  if (c.kind !== "ipv6") return false;
  const base = net.base as Uint16Array;
  let left = net.bits;
  for (let i = 0; i < 8 && left > 0; i++) {
    const take = Math.min(16, left);
    const mask = (0xffff << (16 - take)) & 0xffff;
    if ((c.words[i] & mask) !== (base[i] & mask)) return false;
    left -= take;
  }
  return true;
}
