/**
 * Which agent answers a message: the routes of `config.json`, most specific first.
 *
 * A route matches on channel, and optionally conversation and sender. Among matching routes
 * the most specific wins (conversation + sender > conversation > sender > channel only); a tie
 * goes to the route listed first. With no match, the agent `default` answers (or the first
 * agent when none is called `default`). A route naming an agent that does not exist is skipped,
 * so one bad line cannot silence a channel; `wirken agents bind` refuses to write such a route.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { DEFAULT_PROVIDER } from "../providers/registry.ts";
import type { ProviderKind } from "../providers/types.ts";

/** One configured agent. */
export type AgentConfig = Config["agents"][number];
/** One configured route. */
export type RouteConfig = Config["routes"][number];

/** Where a message comes from. */
export interface Address {
  channel: string;
  conversation: string;
  sender: string;
}

function specificity(r: RouteConfig): number {
  return (r.conversation ? 2 : 0) + (r.sender ? 1 : 0);
}

/** The route that applies to `addr`, if any. */
export function matchRoute(
  config: Pick<Config, "agents" | "routes">,
  addr: Address,
): RouteConfig | undefined {
  const ids = new Set(config.agents.map((a) => a.id));
  let best: RouteConfig | undefined;
  for (const r of config.routes) {
    if (r.channel !== addr.channel || !ids.has(r.agent)) continue;
    if (r.conversation !== undefined && r.conversation !== addr.conversation) continue;
    if (r.sender !== undefined && r.sender !== addr.sender) continue;
    if (!best || specificity(r) > specificity(best)) best = r;
  }
  return best;
}

/** The agent that answers when no route applies. */
export function defaultAgent(config: Pick<Config, "agents">): AgentConfig {
  return config.agents.find((a) => a.id === "default") ?? config.agents[0] ?? { id: "default" };
}

/** The agent that answers `addr`. */
export function bindAgent(config: Pick<Config, "agents" | "routes">, addr: Address): AgentConfig {
  const route = matchRoute(config, addr);
  return (route && config.agents.find((a) => a.id === route.agent)) ?? defaultAgent(config);
}

/** An agent by id. */
export function findAgent(config: Pick<Config, "agents">, id: string): AgentConfig | undefined {
  return config.agents.find((a) => a.id === id);
}

/** The provider and model an agent uses, after its overrides and the top-level setting. */
export interface EffectiveModel {
  kind: ProviderKind;
  model: string;
  baseUrl?: string;
  credential?: string;
}

/**
 * The agent's provider: its own, else the top-level one, else the default (a local Ollama);
 * then the agent's `model`, if set, replaces the provider's model.
 */
export function effectiveModel(
  config: Pick<Config, "provider">,
  agent: AgentConfig,
): EffectiveModel {
  const p = agent.provider ?? config.provider ?? DEFAULT_PROVIDER;
  return {
    kind: p.kind,
    model: agent.model ?? p.model,
    baseUrl: "baseUrl" in p ? p.baseUrl : undefined,
    credential: "credential" in p ? p.credential : undefined,
  };
}
