/**
 * Offline verifier for a wirken audit export (`wirken audit export --out audit.jsonl`).
 *
 * Self-contained on purpose: it imports nothing from wirken and nothing from a registry, so an
 * auditor can read all of it (it implements `docs/audit.md` from scratch) and run it offline:
 *
 *     deno run --allow-read verify_audit.ts audit.jsonl --public-key <base64 key>
 *
 * `--public-key` pins the gateway's Ed25519 key (print it with `wirken audit verify --json`
 * on the gateway host, and keep it somewhere the gateway cannot write). Without it the
 * signatures are checked against the key the file names, which proves integrity, not origin.
 *
 * Exit code 0: the chain verifies. 1: it does not (the first broken seq is printed). 2: usage.
 *
 * @module
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface Event {
  seq: number;
  time: string;
  session: string | null;
  agent: string | null;
  channel: string | null;
  actor: string;
  kind: string;
  payload: { [k: string]: Json };
  prevHash: string;
  hash: string;
}

interface Head {
  seq: number;
  hash: string;
  signature: string | null;
  publicKey: string | null;
}

const GENESIS = "0".repeat(64);
const enc = new TextEncoder();

function out(text: string): void {
  Deno.stdout.writeSync(enc.encode(text + "\n"));
}

/** Canonical JSON (docs/audit.md section 2): sorted keys, no whitespace, JSON.stringify scalars. */
function canonical(v: Json): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function unhex(h: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(h.match(/../g)!.map((b) => parseInt(b, 16)));
}

function unb64(s: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

/** hash = SHA-256(prev_hash bytes || SHA-256(canonical event)) (docs/audit.md section 3). */
async function eventHash(e: Event): Promise<string> {
  const body = canonical({
    v: 1,
    seq: e.seq,
    time: e.time,
    session: e.session,
    agent: e.agent,
    channel: e.channel,
    actor: e.actor,
    kind: e.kind,
    payload: e.payload,
  });
  const joined = new Uint8Array(64);
  joined.set(unhex(e.prevHash), 0);
  joined.set(await sha256(enc.encode(body)), 32);
  return hex(await sha256(joined));
}

async function ed25519Verify(
  publicKey: string,
  message: string,
  signature: string,
): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey("raw", unb64(publicKey), { name: "Ed25519" }, false, [
      "verify",
    ]);
    return await crypto.subtle.verify("Ed25519", key, unb64(signature), enc.encode(message));
  } catch {
    return false;
  }
}

const isHash = (v: unknown): v is string => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);
const isNullableString = (v: unknown) => v === null || typeof v === "string";

function checkEvent(v: unknown, line: number): Event {
  const e = v as Record<string, unknown>;
  const ok = e !== null && typeof e === "object" && Number.isSafeInteger(e.seq) &&
    (e.seq as number) > 0 &&
    typeof e.time === "string" && isNullableString(e.session) && isNullableString(e.agent) &&
    isNullableString(e.channel) && typeof e.actor === "string" && typeof e.kind === "string" &&
    e.payload !== null && typeof e.payload === "object" && !Array.isArray(e.payload) &&
    isHash(e.prevHash) && isHash(e.hash);
  if (!ok) throw new Error(`line ${line} is not a well-formed event`);
  return e as unknown as Event;
}

function checkHead(v: unknown): Head | null {
  if (v === null) return null;
  const h = v as Record<string, unknown>;
  if (
    h === undefined || typeof h !== "object" || !Number.isSafeInteger(h.seq) || !isHash(h.hash) ||
    !isNullableString(h.signature) || !isNullableString(h.publicKey)
  ) {
    throw new Error("line 1: the header's head is malformed");
  }
  return h as unknown as Head;
}

interface Failure {
  seq: number;
  problem: string;
}

/** Verifies export text; returns failures sorted by seq (empty: verified) and notes. */
export async function verifyExportText(
  text: string,
  pinnedKey?: string,
): Promise<{ failures: Failure[]; notes: string[]; count: number }> {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = JSON.parse(lines[0] ?? "null");
  if (header?.format !== "wirken.audit.export" || header?.version !== 1) {
    throw new Error("line 1 is not a wirken.audit.export version 1 header");
  }
  const head = checkHead(header.head);
  const events = lines.slice(1).map((l, i) => checkEvent(JSON.parse(l), i + 2));
  const failures: Failure[] = [];
  const notes: string[] = [];
  const fail = (seq: number, problem: string) => failures.push({ seq, problem });
  const keyOk = (key: string): boolean => pinnedKey === undefined || key === pinnedKey;
  if (pinnedKey === undefined) notes.push("no --public-key given: signer not pinned");

  // Checkpoints first (docs/audit.md section 5): which pruned prefix each one proves.
  const anchors = new Map<number, string>();
  for (const cp of events.filter((e) => e.kind === "audit.checkpoint")) {
    const p = cp.payload as Record<string, Json>;
    const through = p.throughSeq;
    if (
      typeof through !== "number" || !isHash(p.throughHash) || typeof p.publicKey !== "string" ||
      typeof p.signature !== "string" || through >= cp.seq
    ) {
      fail(cp.seq, "malformed checkpoint");
      continue;
    }
    const msg = canonical({
      type: "wirken.audit.checkpoint",
      v: 1,
      throughSeq: through,
      throughHash: p.throughHash,
    });
    if (!keyOk(p.publicKey) || !(await ed25519Verify(p.publicKey, msg, p.signature))) {
      fail(cp.seq, "checkpoint signature does not verify or is by an untrusted key (forged)");
      continue;
    }
    anchors.set(through, p.throughHash);
  }

  // The chain itself (section 3).
  let prev: Event | null = null;
  for (const e of events) {
    if (prev === null) {
      if (e.seq === 1 && e.prevHash !== GENESIS) fail(1, "first event does not start at genesis");
      if (e.seq !== 1 && anchors.get(e.seq - 1) !== e.prevHash) {
        fail(1, `events before seq ${e.seq} are missing and no valid checkpoint covers them`);
      }
    } else if (e.seq <= prev.seq) {
      fail(e.seq, `seq ${e.seq} after seq ${prev.seq}: reordered or duplicated`);
    } else {
      if (e.seq !== prev.seq + 1) fail(prev.seq + 1, `seq ${prev.seq + 1}..${e.seq - 1} missing`);
      if (e.prevHash !== prev.hash) fail(e.seq, `prev_hash does not match seq ${prev.seq}'s hash`);
    }
    if ((await eventHash(e)) !== e.hash) fail(e.seq, "content altered (hash mismatch)");
    const anchored = anchors.get(e.seq);
    if (anchored !== undefined && anchored !== e.hash) {
      fail(e.seq, "differs from what a checkpoint recorded");
    }
    prev = e;
  }

  // The signed head (section 4): catches a truncated tail.
  const lastSeq: number = prev?.seq ?? 0;
  if (head) {
    if (head.seq > lastSeq) {
      fail(lastSeq + 1, `tail truncated: head is seq ${head.seq}, last event ${lastSeq}`);
    } else if (head.seq < lastSeq) fail(head.seq + 1, `events after the head seq ${head.seq}`);
    else if (prev && head.hash !== prev.hash) {
      fail(head.seq, "head hash differs from the last event");
    }
    if (head.signature === null || head.publicKey === null) notes.push("head is not signed");
    else if (
      !keyOk(head.publicKey) ||
      !(await ed25519Verify(
        head.publicKey,
        canonical({ type: "wirken.audit.head", v: 1, seq: head.seq, hash: head.hash }),
        head.signature,
      ))
    ) fail(head.seq, "head signature does not verify or is by an untrusted key");
  } else if (events.length > 0) {
    notes.push("no head in the header: a truncated tail is not detectable");
  }
  return { failures: failures.sort((a, b) => a.seq - b.seq), notes, count: events.length };
}

if (import.meta.main) {
  const args = [...Deno.args];
  const k = args.indexOf("--public-key");
  const pinned = k >= 0 ? args.splice(k, 2)[1] : undefined;
  if (args.length !== 1 || (k >= 0 && !pinned)) {
    out("usage: deno run --allow-read verify_audit.ts <export.jsonl> [--public-key <base64>]");
    Deno.exit(2);
  }
  try {
    const r = await verifyExportText(await Deno.readTextFile(args[0]), pinned);
    for (const n of r.notes) out(`note: ${n}`);
    if (r.failures.length === 0) {
      out(`OK: ${r.count} events verified`);
      Deno.exit(0);
    }
    const f = r.failures[0];
    out(`BROKEN at seq ${f.seq}: ${f.problem}`);
    for (const g of r.failures.slice(1, 10)) out(`  also seq ${g.seq}: ${g.problem}`);
    Deno.exit(1);
  } catch (e) {
    out(`BROKEN: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
