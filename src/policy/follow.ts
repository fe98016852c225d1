/**
 * Following the org policy: the one call every entry point that runs agents makes (`wirken run`,
 * `wirken ask`), and the offline read for commands that change what the policy governs
 * (`skills install`, `audit prune`). So there is no side door around the policy.
 *
 * @module
 */
import type { DataPaths } from "../config/paths.ts";
import type { Config } from "../config/schema.ts";
import { enforce } from "./apply.ts";
import { applyPolicy, type EffectiveConfig } from "./effective.ts";
import { readCachedPolicy, refreshPolicy, type RefreshResult } from "./refresh.ts";
import type { Policy } from "./schema.ts";
import { PolicyError } from "./signature.ts";

/** A policy in force and the config it yields. */
export interface FollowedPolicy extends EffectiveConfig {
  policy: RefreshResult;
}

/**
 * Fetches (or takes from the verified cache) the org policy, refuses when the local config
 * breaks it, and returns the config to run with the policy's floors merged in. Null when the
 * config pins no org.
 */
export async function followOrgPolicy(
  config: Config,
  paths: Pick<DataPaths, "orgPolicy">,
  fetchText?: (url: string) => Promise<string>,
): Promise<FollowedPolicy | null> {
  if (!config.org) return null;
  const result = await refreshPolicy(config.org, paths.orgPolicy, fetchText);
  enforce(config, result.policy);
  return { policy: result, ...applyPolicy(config, result.policy) };
}

/**
 * The verified cached policy for a command that works offline. Null when the config pins no
 * org; an error when it does but no verified copy exists yet (refusing is the safe side).
 */
export async function cachedOrgPolicy(
  config: Config,
  paths: Pick<DataPaths, "orgPolicy">,
): Promise<Policy | null> {
  if (!config.org) return null;
  const policy = await readCachedPolicy(config.org, paths.orgPolicy);
  if (!policy) {
    throw new PolicyError("This install follows an org policy, but no verified copy is cached.", {
      fix: "Run `wirken doctor` or `wirken run` once while connected to fetch it.",
    });
  }
  return policy;
}
