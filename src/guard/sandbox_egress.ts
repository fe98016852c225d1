/**
 * Network for one sandboxed run: an egress proxy on a Unix socket in a fresh private folder,
 * applying the agent's allow-list, closed when the run ends. The sandbox binds that folder in
 * and reaches the proxy through a relay on its own loopback (`src/sandbox/egress_relay.ts`);
 * it has no other route out.
 *
 * @module
 */
import { join } from "node:path";
import type { AuditSink } from "../audit/types.ts";
import type { SandboxEgress } from "../sandbox/types.ts";
import type { ToolContext } from "../tools/types.ts";
import {
  type EgressPolicy,
  type EgressProxyOptions,
  type Resolver,
  startEgressProxy,
} from "./egress.ts";
import { egressRefusalAuditor } from "./hooks.ts";

/** A proxy lent to one run. */
export interface SandboxEgressLease {
  /** What the sandbox needs (pass as `SandboxCommand.egress`). */
  egress: SandboxEgress;
  /** Stops the proxy and removes its folder. */
  close(): Promise<void>;
}

/**
 * Starts a proxy for one run. The folder is created `0700` by `Deno.makeTempDir`, so only the
 * gateway's user reaches the socket; the proxy's random credentials are asked for as well.
 */
export async function startSandboxEgress(
  options: Omit<EgressProxyOptions, "path">,
): Promise<SandboxEgressLease> {
  const dir = await Deno.makeTempDir({ prefix: "wirken-egress-" });
  const socket = join(dir, "proxy.sock");
  let proxy;
  try {
    proxy = startEgressProxy({ ...options, path: socket });
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
  const running = proxy;
  return {
    egress: { socket, credentials: running.credentials },
    async close() {
      await running.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * The `network` option of the exec tool: a proxy per run with the calling agent's allow-list,
 * every refusal audited as `tool.denied` (guard `egress`, tool `exec`) with agent and session.
 */
export function execNetwork(options: {
  policyFor: (agentId: string) => EgressPolicy;
  audit: AuditSink;
  resolve?: Resolver;
}): (ctx: ToolContext) => Promise<SandboxEgressLease> {
  return (ctx) =>
    startSandboxEgress({
      policy: options.policyFor(ctx.agentId),
      resolve: options.resolve,
      who: ctx.agentId,
      onRefused: egressRefusalAuditor(options.audit, {
        agent: ctx.agentId,
        session: ctx.sessionId,
        channel: ctx.channel,
        actor: ctx.sender,
        destination: "exec",
      }),
    });
}
