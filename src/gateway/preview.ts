/**
 * Streamed answers in chats: while the agent writes, one message in the conversation shows the
 * text so far, edited at a bounded rate (platforms rate-limit edits); the final answer then
 * replaces it. Answers that finish within the first delay are sent once, as before, so quick
 * replies cost no extra platform calls.
 *
 * The streamed text passes the core's stream guard (a secret split across deltas is still
 * held back and redacted); the final text passes the reply guard as every answer does.
 *
 * @module
 */
import type { TurnEvent } from "../agent/loop.ts";
import type { StreamGuard } from "../guard/mod.ts";

/** Sends (no `editId`) or edits (with `editId`) the preview message; resolves to its id. */
export type PreviewSink = (text: string, editId?: string) => Promise<string>;

/** Options of {@linkcode PreviewStreamer}. */
export interface PreviewOptions {
  /** Wait before the first preview (default 1500 ms). */
  firstDelayMs?: number;
  /** Least time between two edits (default 1500 ms). */
  intervalMs?: number;
  /** Longest preview shown (the final answer is split by the adapter; a preview never is). */
  maxChars?: number;
}

/** Turns a turn's events into a rate-bounded preview message. */
export class PreviewStreamer {
  #guard: StreamGuard;
  #shown = "";
  #sentText = "";
  #timer: ReturnType<typeof setTimeout> | null = null;
  #chain: Promise<void> = Promise.resolve();
  #stopped = false;
  #lastAt = 0;
  readonly #started = Date.now();
  /** The preview message's id once one was sent. */
  messageId: string | undefined;

  /** `newGuard` makes a stream guard for one run of text. */
  constructor(
    private readonly sink: PreviewSink,
    private readonly newGuard: () => StreamGuard,
    private readonly o: PreviewOptions = {},
  ) {
    this.#guard = newGuard();
  }

  /** Feeds one turn event. */
  event(e: TurnEvent): void {
    if (this.#stopped) return;
    if (e.type === "text") {
      this.#shown += this.#guard.push(e.text);
      this.#schedule();
      return;
    }
    // A tool round ends a run of text: flush what the guard held, start a new guard.
    const guard = this.#guard;
    this.#guard = this.newGuard();
    this.#chain = this.#chain.then(async () => {
      this.#shown += await guard.end();
    });
  }

  #schedule(): void {
    if (this.#timer || this.#stopped || !this.#shown.trim()) return;
    const first = this.o.firstDelayMs ?? 1500;
    const interval = this.o.intervalMs ?? 1500;
    const at = Math.max(this.#started + first, this.#lastAt + interval);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#chain = this.#chain.then(() => this.#flush()).catch(() => {});
    }, Math.max(0, at - Date.now()));
  }

  async #flush(): Promise<void> {
    if (this.#stopped) return;
    const max = this.o.maxChars ?? 1200;
    const body = this.#shown.length > max ? this.#shown.slice(0, max) : this.#shown;
    const text = `${body.trimEnd()} …`;
    if (text === this.#sentText) return;
    this.#lastAt = Date.now();
    this.#sentText = text;
    const id = await this.sink(text, this.messageId).catch(() => "");
    if (!this.messageId && id) this.messageId = id;
  }

  /** Stops previewing; resolves once any preview in flight is sent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#chain.catch(() => {});
  }
}
