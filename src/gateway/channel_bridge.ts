/**
 * Between the adapters and the core: an adapter's message enters the one router (approval
 * answers first), and approval prompts go back into the conversation that asked, on that
 * conversation's own session handle.
 *
 * @module
 */
import type { Channel } from "../config/schema.ts";
import type { SessionHandle } from "../ipc/session.ts";
import type { ApprovalAnswer as BrokerAnswer, ApprovalPrompt } from "../permissions/broker.ts";
import type { AdapterHost, InboundAnswer } from "./adapters.ts";
import type { Core } from "./core.ts";
import { type PreviewSink, PreviewStreamer } from "./preview.ts";

/** What {@linkcode ConversationPrompts} needs of the approval broker for button answers. */
export interface ButtonDecider {
  decide(answer: BrokerAnswer): Promise<{ accepted: boolean; message: string }>;
  pending(): { code: string }[];
}

/** An adapter without buttons answers an approval request at once with nobody as decider. */
const NO_BUTTONS_MS = 1500;

/**
 * Remembers the latest handle of each conversation, so a prompt can be sent into it. With a
 * {@linkcode ButtonDecider}, prompts go out as `approvalRequest` frames, which adapters show
 * with buttons (inline keyboard, components, Block Kit); a press comes back as the presser's
 * platform id and is decided by the broker like a typed answer, so only an owner's press has
 * effect (anyone else's is refused, audited, and the prompt is shown again). An adapter
 * without buttons answers at once with nobody: then the prompt is sent as text.
 */
export class ConversationPrompts {
  /** By `handle.key`: the part of a session id before its agent. */
  readonly #handles = new Map<string, SessionHandle<Channel>>();

  /** `decider` (the core's broker) enables buttons; without it prompts are text only. */
  constructor(private readonly decider?: ButtonDecider) {}

  /** Records the conversation `handle` belongs to (called for every inbound message). */
  remember(handle: SessionHandle<Channel>): void {
    this.#handles.set(handle.key, handle);
  }

  /** Shows `prompt` in the conversation that asked; it names its own session. */
  async show(prompt: ApprovalPrompt, adapters: AdapterHost | null): Promise<void> {
    // Session ids are `<handle.key>:<agent>`, and agent ids never contain ':'.
    const conversationKey = prompt.session.slice(0, prompt.session.lastIndexOf(":"));
    const handle = this.#handles.get(conversationKey);
    if (!handle || !adapters) throw new Error(`no open conversation for ${prompt.session}`);
    if (this.decider && (await this.#buttons(prompt, handle, adapters, this.decider))) return;
    const result = await adapters.server.send(handle, { text: prompt.text });
    if (!result.ok) {
      throw new Error(`the ${handle.channel} adapter could not show the prompt: ${result.error}`);
    }
  }

  /**
   * Asks with buttons; false when the adapter has none. The asking turn waits on the broker,
   * not on this, so presses are handled in the background until one is accepted, the request
   * is decided elsewhere (typed answer, terminal, WebChat) or it expires.
   */
  async #buttons(
    prompt: ApprovalPrompt,
    handle: SessionHandle<Channel>,
    adapters: AdapterHost,
    decider: ButtonDecider,
  ): Promise<boolean> {
    const link = adapters.server.link(handle.channel);
    const ask = () =>
      link.requestApproval(handle, {
        toolName: prompt.tool,
        summary: prompt.text,
        tier: String(prompt.tier),
        timeoutMs: Math.max(1000, prompt.expiresAt - Date.now()),
      });
    const first = ask();
    // Resolve as soon as we know whether the adapter has buttons: the broker's wait starts
    // after this returns, so it must not block on a human.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const early = await Promise.race([
      first.then((a) => a, () => null),
      new Promise<"shown">((r) => (timer = setTimeout(() => r("shown"), NO_BUTTONS_MS))),
    ]);
    clearTimeout(timer);
    if (early === null || (early !== "shown" && !early.decidedBy)) return false;
    (async () => {
      let answer = await first;
      while (answer.decidedBy) {
        const outcome = await decider.decide({
          code: prompt.code,
          decision: answer.approved ? "approve" : "deny",
          remember: false,
          sender: answer.decidedBy,
          channel: handle.channel,
          conversation: handle.conversationId,
        });
        await adapters.server.send(handle, { text: outcome.message }).catch(() => {});
        const open = decider.pending().some((p) => p.code === prompt.code);
        if (outcome.accepted || !open || Date.now() >= prompt.expiresAt) return;
        answer = await ask();
      }
    })().catch(() => {});
    return true;
  }
}

/**
 * Handles one adapter message through the core and reduces the result to a chat answer. The
 * conversation is `handle` (minted from the authenticated connection); of `message` only the
 * sender and the text are read.
 */
export async function dispatchFromAdapter<C extends Channel>(
  core: Core,
  message: { sender: string; text: string },
  handle: SessionHandle<C>,
  prompts: ConversationPrompts,
  preview?: PreviewSink,
): Promise<InboundAnswer> {
  prompts.remember(handle);
  // Long answers are previewed by editing one message; the answer below replaces it.
  const streamer = preview
    ? new PreviewStreamer(preview, () => core.streamGuard({ channel: handle.channel }))
    : null;
  const r = await core.handle(
    { handle, sender: message.sender, text: message.text },
    streamer ? { onEvent: (e) => streamer.event(e) } : {},
  );
  await streamer?.stop();
  const editId = streamer?.messageId;
  switch (r.status) {
    case "approval":
      return { status: "answered", text: r.message };
    case "answered":
      // A reply is a way out like any other: a secret the model repeats is redacted here.
      return {
        status: "answered",
        text: await core.guardReply(r.text, {
          channel: handle.channel,
          session: r.session,
          agent: r.agent,
        }),
        attachments: core.outbox?.take(r.session) ?? [],
        editId,
      };
    case "limited":
      return { status: "limited", message: r.message };
    case "failed":
      return { status: "failed", message: r.fix ? `${r.message} ${r.fix}` : r.message, editId };
    case "refused":
      return { status: "refused" };
  }
}
