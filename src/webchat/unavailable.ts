/**
 * The `ChatService` the gateway passes while no agent runtime is wired to WebChat: every answer
 * says plainly that the agent is not connected, instead of pretending with empty success.
 *
 * @module
 */
import { WirkenError } from "../errors.ts";
import type { ChatService } from "./service.ts";

/** What the page shows when a turn or an action reaches the not-connected service. */
export const NOT_CONNECTED =
  "The agent runtime is not connected to WebChat in this gateway yet: nothing was sent to a model.";

/**
 * A service whose reads are empty and whose actions fail with `reason` (default
 * {@linkcode NOT_CONNECTED}), e.g. while the vault is locked.
 */
export function notConnectedService(reason: string = NOT_CONNECTED, fix?: string): ChatService {
  const fail = () =>
    Promise.reject(
      new WirkenError(reason, { fix: fix ?? "Use `wirken ask` from a terminal for now." }),
    );
  return {
    agents: () => [],
    sessions: () => [],
    transcript: () => [],
    async *send() {
      yield { type: "error", message: reason };
      yield { type: "done" };
    },
    upload: fail,
    pendingApprovals: () => [],
    decide: fail,
    onApprovalsChanged: () => () => {},
    status: () => ({ adapters: [] }),
    audit: () => Promise.resolve({ events: [], verified: { ok: false, detail: reason } }),
    permissions: () => [],
    revokePermission: fail,
    credentials: () => [],
  };
}
