/**
 * Between the adapters and the core: an adapter's message enters the one router (approval
 * answers first), and approval prompts go back into the conversation that asked, on that
 * conversation's own session handle.
 *
 * @module
 */
import type { SessionHandle } from "../ipc/session.ts";
import type { ApprovalPrompt } from "../permissions/broker.ts";
import type { AdapterHost, InboundAnswer } from "./adapters.ts";
import type { Core } from "./core.ts";

/** Remembers the latest handle of each conversation, so a prompt can be sent into it. */
export class ConversationPrompts {
  readonly #handles = new Map<string, SessionHandle>();

  /** Records the conversation `handle` belongs to (called for every inbound message). */
  remember(handle: SessionHandle): void {
    this.#handles.set(`${handle.channel}:${handle.conversationId}`, handle);
  }

  /** Sends `prompt.text` into the conversation that asked; it names its own session. */
  async show(prompt: ApprovalPrompt, adapters: AdapterHost | null): Promise<void> {
    // Session ids are channel:conversation:agent, and agent ids never contain ':'.
    const conversationKey = prompt.session.slice(0, prompt.session.lastIndexOf(":"));
    const handle = this.#handles.get(conversationKey);
    if (!handle || !adapters) throw new Error(`no open conversation for ${prompt.session}`);
    const result = await adapters.server.send(handle, { text: prompt.text });
    if (!result.ok) {
      throw new Error(`the ${handle.channel} adapter could not show the prompt: ${result.error}`);
    }
  }
}

/** Handles one adapter message through the core and reduces the result to a chat answer. */
export async function dispatchFromAdapter(
  core: Core,
  message: { channel: string; conversation: string; sender: string; text: string },
  handle: SessionHandle,
  prompts: ConversationPrompts,
): Promise<InboundAnswer> {
  prompts.remember(handle);
  const r = await core.handle(message);
  switch (r.status) {
    case "approval":
      return { status: "answered", text: r.message };
    case "answered":
      // A reply is a way out like any other: a secret the model repeats is redacted here.
      return {
        status: "answered",
        text: await core.guardReply(r.text, {
          channel: message.channel,
          session: r.session,
          agent: r.agent,
        }),
      };
    case "limited":
      return { status: "limited", message: r.message };
    case "failed":
      return { status: "failed", message: r.fix ? `${r.message} ${r.fix}` : r.message };
    case "refused":
      return { status: "refused" };
  }
}
