/**
 * Chain verification, shared by `audit.db` and exported files: recompute every hash, check the
 * links, the anchor at the start (genesis or a signed checkpoint) and the signed head at the end.
 *
 * Failures are collected and sorted by seq, so the first one reported is the first broken link.
 *
 * @module
 */
import { z } from "zod";
import {
  type AuditEvent,
  canonicalEventText,
  chainHash,
  chainHashOfText,
  checkpointMessage,
  GENESIS_HASH,
  headMessage,
} from "./chain.ts";
import { verifySignature } from "./keys.ts";

/** One broken link: the seq where the chain stops being provable, and why. */
export interface VerifyFailure {
  /** The first seq that can no longer be proven. */
  seq: number;
  /** What is wrong, in words. */
  problem: string;
  /** The value the chain requires (a hash), when there is one. */
  expected?: string;
  /** The value found instead. */
  actual?: string;
}

/** The chain head as recorded beside the events (db) or in an export's header. */
export interface ChainHead {
  /** Seq of the newest event. */
  seq: number;
  /** Its hash. */
  hash: string;
  /** Ed25519 signature (base64) of the head message; null when written without a key. */
  signature: string | null;
  /** The key that signed it (base64), or null. */
  publicKey: string | null;
}

/** What {@linkcode ChainVerifier.finish} reports. */
export interface VerifyResult {
  /** True when nothing is broken. */
  ok: boolean;
  /** Events whose hashes were recomputed. */
  checked: number;
  /** Oldest event checked, or null when there are none. */
  firstSeq: number | null;
  /** Newest event checked, or null. */
  lastSeq: number | null;
  /** How the oldest remaining event is proven to be where the chain began or was pruned. */
  anchor: "empty" | "genesis" | { checkpointSeq: number; throughSeq: number } | "none";
  /** Checkpoint events seen. */
  checkpoints: number;
  /** True when signatures were checked against a key given from outside the data checked. */
  keyPinned: boolean;
  /** Things that weaken the proof without breaking it (unsigned head, unpinned key). */
  warnings: string[];
  /** Sorted by seq; empty when `ok`. */
  failures: VerifyFailure[];
}

/** Options of the verifier. */
export interface VerifyOptions {
  /**
   * Public keys (base64) trusted to sign checkpoints and the head. Give the gateway's key from
   * the vault or from a record kept elsewhere; without it, signatures are checked against the
   * key the data itself names, which proves integrity but not who signed.
   */
  trustedKeys?: readonly string[];
}

/** The payload of an `audit.checkpoint` event. */
export const CheckpointPayloadSchema = z.object({
  throughSeq: z.number().int().nonnegative(),
  throughHash: z.string().regex(/^[0-9a-f]{64}$/),
  prunedCount: z.number().int().nonnegative(),
  publicKey: z.string().min(1),
  signature: z.string().min(1),
});

/** A checkpoint payload. */
export type CheckpointPayload = z.infer<typeof CheckpointPayloadSchema>;

const MAX_FAILURES = 100;

/**
 * Streaming verifier: `expectCheckpoints` with every checkpoint event first (a cheap pre-pass),
 * then `push` each event in stored order, then `finish`.
 */
export class ChainVerifier {
  #trusted: readonly string[] | undefined;
  #failures: VerifyFailure[] = [];
  #warnings = new Set<string>();
  #checked = 0;
  #first: AuditEvent | null = null;
  #prev: AuditEvent | null = null;
  #checkpointCount = 0;
  /** throughSeq -> (checkpoint seq, throughHash) of well-formed, correctly signed checkpoints. */
  #anchors = new Map<number, { checkpointSeq: number; throughHash: string }>();

  /** `options.trustedKeys` pins the signing key. */
  constructor(options: VerifyOptions = {}) {
    this.#trusted = options.trustedKeys && options.trustedKeys.length > 0
      ? options.trustedKeys
      : undefined;
  }

  /** Registers the checkpoint events (found by a pre-pass) so anchors can be checked in order. */
  expectCheckpoints(checkpoints: Iterable<AuditEvent>): void {
    for (const cp of checkpoints) {
      const payload = this.#checkCheckpoint(cp);
      if (payload) {
        this.#anchors.set(payload.throughSeq, {
          checkpointSeq: cp.seq,
          throughHash: payload.throughHash,
        });
      }
    }
  }

  /**
   * Checks one event against its predecessor and its own hash. `payloadText`, when given, is
   * the payload exactly as stored (canonical JSON), hashed as is instead of `e.payload`.
   */
  push(e: AuditEvent, payloadText?: string): void {
    this.#checked++;
    const prev = this.#prev;
    if (prev === null) {
      this.#first = e;
      if (e.seq === 1 && e.prevHash !== GENESIS_HASH) {
        this.#fail({
          seq: 1,
          problem: "the first event's prev_hash is not the genesis hash",
          expected: GENESIS_HASH,
          actual: e.prevHash,
        });
      }
    } else if (e.seq <= prev.seq) {
      this.#fail({
        seq: e.seq,
        problem: `seq ${e.seq} appears after seq ${prev.seq} (rows reordered or duplicated)`,
      });
    } else {
      if (e.seq !== prev.seq + 1) {
        const last = e.seq - 1;
        this.#fail({
          seq: prev.seq + 1,
          problem:
            `event${last > prev.seq + 1 ? `s ${prev.seq + 1}..${last} are` : ` ${last} is`}` +
            " missing from the middle of the chain",
        });
      }
      if (e.prevHash !== prev.hash) {
        this.#fail({
          seq: e.seq,
          problem: `prev_hash does not match the hash of the preceding event (seq ${prev.seq})`,
          expected: prev.hash,
          actual: e.prevHash,
        });
      }
    }
    let recomputed: string;
    try {
      recomputed = payloadText === undefined
        ? chainHash(e.prevHash, e)
        : chainHashOfText(e.prevHash, canonicalEventText(e, payloadText));
    } catch (err) {
      this.#fail({ seq: e.seq, problem: `cannot hash the event: ${(err as Error).message}` });
      recomputed = "";
    }
    if (recomputed && recomputed !== e.hash) {
      this.#fail({
        seq: e.seq,
        problem: "the event's content was altered: its stored hash does not match its content",
        expected: recomputed,
        actual: e.hash,
      });
    }
    const a = this.#anchors.get(e.seq);
    if (a && a.throughHash !== e.hash) {
      this.#fail({
        seq: e.seq,
        problem: `checkpoint seq ${a.checkpointSeq} recorded a different hash for this event`,
        expected: a.throughHash,
        actual: e.hash,
      });
    }
    this.#prev = e;
  }

  /** Checks the start anchor and the head, and returns the result. */
  finish(head: ChainHead | null): VerifyResult {
    const first = this.#first;
    const last = this.#prev;
    let anchor: VerifyResult["anchor"] = "empty";
    if (first) {
      if (first.seq === 1) {
        anchor = "genesis";
      } else {
        const a = this.#anchors.get(first.seq - 1);
        if (a && a.throughHash === first.prevHash) {
          anchor = { checkpointSeq: a.checkpointSeq, throughSeq: first.seq - 1 };
        } else {
          anchor = "none";
          const covered = [...this.#anchors.keys()].filter((t) =>
            t < first.seq
          ).sort((x, y) => y - x)[0];
          const from = covered === undefined ? 1 : covered + 1;
          this.#fail({
            seq: from,
            problem: a
              ? `checkpoint seq ${a.checkpointSeq} covers through seq ${
                first.seq - 1
              } but its hash differs from the oldest event's prev_hash`
              : `events ${from}..${
                first.seq - 1
              } are missing before the oldest event and no signed checkpoint covers them`,
            expected: a?.throughHash,
            actual: a ? first.prevHash : undefined,
          });
        }
      }
    }
    if (head) this.#checkHead(head, last);
    else if (last) {
      this.#warnings.add("no chain head is recorded, so a truncated tail is not detectable");
    }
    return {
      ok: this.#failures.length === 0,
      checked: this.#checked,
      firstSeq: first?.seq ?? null,
      lastSeq: last?.seq ?? null,
      anchor,
      checkpoints: this.#checkpointCount,
      keyPinned: this.#trusted !== undefined,
      warnings: [...this.#warnings],
      failures: [...this.#failures].sort((a, b) => a.seq - b.seq),
    };
  }

  #checkHead(head: ChainHead, last: AuditEvent | null): void {
    const lastSeq = last?.seq ?? 0;
    if (head.seq > lastSeq) {
      this.#fail({
        seq: lastSeq + 1,
        problem: `the tail was truncated: the head records seq ${head.seq} but the last event is ${
          last ? `seq ${lastSeq}` : "absent"
        }`,
      });
    } else if (head.seq < lastSeq) {
      this.#fail({
        seq: head.seq + 1,
        problem: `events after seq ${head.seq} were added without going through the log`,
      });
    } else if (last && head.hash !== last.hash) {
      this.#fail({
        seq: head.seq,
        problem: "the head records a different hash for the last event",
        expected: head.hash,
        actual: last.hash,
      });
    }
    if (head.signature === null || head.publicKey === null) {
      this.#warnings.add("the chain head is not signed (the log was opened without a signing key)");
      return;
    }
    const keyProblem = this.#keyProblem(head.publicKey);
    if (keyProblem) {
      this.#fail({ seq: head.seq, problem: `the chain head is ${keyProblem}` });
    } else if (!verifySignature(head.publicKey, headMessage(head.seq, head.hash), head.signature)) {
      this.#fail({ seq: head.seq, problem: "the chain head's signature does not verify" });
    }
  }

  #checkCheckpoint(cp: AuditEvent): CheckpointPayload | null {
    this.#checkpointCount++;
    const parsed = CheckpointPayloadSchema.safeParse(cp.payload);
    if (!parsed.success) {
      this.#fail({ seq: cp.seq, problem: "checkpoint payload is malformed" });
      return null;
    }
    const p = parsed.data;
    if (p.throughSeq >= cp.seq) {
      this.#fail({ seq: cp.seq, problem: "checkpoint covers events after itself (forged)" });
      return null;
    }
    const keyProblem = this.#keyProblem(p.publicKey);
    if (keyProblem) {
      this.#fail({ seq: cp.seq, problem: `checkpoint is ${keyProblem} (forged)` });
      return null;
    }
    if (
      !verifySignature(p.publicKey, checkpointMessage(p.throughSeq, p.throughHash), p.signature)
    ) {
      this.#fail({ seq: cp.seq, problem: "checkpoint signature does not verify (forged)" });
      return null;
    }
    return p;
  }

  #keyProblem(publicKey: string): string | null {
    if (this.#trusted) {
      return this.#trusted.includes(publicKey) ? null : `signed by an untrusted key (${publicKey})`;
    }
    this.#warnings.add(
      "signatures were checked against the key named in the data; pin the gateway's public key to prove who signed",
    );
    return null;
  }

  #fail(f: VerifyFailure): void {
    if (this.#failures.length < MAX_FAILURES) this.#failures.push(f);
  }
}

/** One line describing a result, naming the first broken seq. */
export function describeVerifyResult(r: VerifyResult): string {
  if (r.ok) {
    const range = r.firstSeq === null ? "no events" : `seq ${r.firstSeq}..${r.lastSeq}`;
    const anchor = typeof r.anchor === "object"
      ? `anchored by signed checkpoint seq ${r.anchor.checkpointSeq} (pruned through ${r.anchor.throughSeq})`
      : r.anchor === "genesis"
      ? "anchored at genesis"
      : "empty";
    return `OK: ${r.checked} events verified (${range}), ${anchor}.`;
  }
  const f = r.failures[0];
  return `BROKEN at seq ${f.seq}: ${f.problem}` +
    (f.expected !== undefined ? ` (expected ${f.expected}, found ${f.actual})` : "");
}
