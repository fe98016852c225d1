/**
 * Where approval prompts go, and who hears that the pending list changed. The broker asks; each
 * channel registers how it shows a prompt (WebChat's dialog, an adapter's chat message, the
 * terminal); WebChat listens for changes to refresh its list, including decisions made from
 * the terminal in another process (seen by polling).
 *
 * @module
 */
import type { ApprovalPrompt } from "../permissions/broker.ts";
import type { Logger } from "../log/logger.ts";

/** Shows a prompt in one channel's conversation. */
export type PromptSink = (prompt: ApprovalPrompt) => Promise<void>;

/** The hub between the broker and the surfaces. */
export class ApprovalHub {
  readonly #sinks = new Map<string, PromptSink>();
  readonly #listeners = new Set<() => void>();
  readonly #log: Logger;
  #lastCodes = "";
  readonly #timer: ReturnType<typeof setInterval>;

  /** `pendingCodes` lists the codes waiting now (polled to notice outside decisions). */
  constructor(log: Logger, pendingCodes: () => string[], pollMs = 1000) {
    this.#log = log;
    this.#timer = setInterval(() => {
      const codes = pendingCodes().join(",");
      if (codes !== this.#lastCodes) {
        this.#lastCodes = codes;
        this.changed();
      }
    }, pollMs);
    Deno.unrefTimer(this.#timer);
  }

  /** Registers how `channel` shows prompts (replacing an earlier one). */
  setSink(channel: string, sink: PromptSink): void {
    this.#sinks.set(channel, sink);
  }

  /** The broker's `ask`: shows the prompt where the call came from and tells listeners. */
  readonly ask = async (prompt: ApprovalPrompt): Promise<void> => {
    this.changed();
    const sink = this.#sinks.get(prompt.channel);
    if (!sink) {
      // Still answerable from WebChat's list or `wirken permissions approve <code>`.
      this.#log.warn("approval waiting; no surface for this channel shows it", {
        code: prompt.code,
        channel: prompt.channel,
        tool: prompt.tool,
      });
      return;
    }
    await sink(prompt);
  };

  /** Subscribes to changes of the pending list. */
  onChanged(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells every listener the pending list may have changed. */
  changed(): void {
    for (const l of this.#listeners) {
      try {
        l();
      } catch (e) {
        this.#log.warn("approval listener failed", { error: e });
      }
    }
  }

  /** Stops polling. */
  close(): void {
    clearInterval(this.#timer);
  }
}
