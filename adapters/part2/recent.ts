/**
 * A bounded memory of recently seen ids: platforms redeliver webhooks (retries, replays), and
 * each message must reach the agent once.
 *
 * @module
 */

/** Remembers the last `capacity` ids, forgetting the oldest first. */
export class RecentIds {
  readonly #ids = new Set<string>();
  readonly #capacity: number;

  /** Keeps at most `capacity` ids (default 10 000). */
  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  /** Records `id`; returns false when it was already seen (a duplicate to drop). */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.#capacity) {
      // Sets iterate in insertion order, so the first is the oldest.
      const oldest = this.#ids.values().next().value;
      if (oldest !== undefined) this.#ids.delete(oldest);
    }
    return true;
  }

  /** How many ids are remembered. */
  get size(): number {
    return this.#ids.size;
  }
}
