/**
 * The checks of `wirken doctor`. Each returns ok / warn / fail with a fix a user can act on.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { dataPaths, DIR_MODE, FILE_MODE } from "../config/paths.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { WirkenError } from "../errors.ts";

/** Outcome of one check. */
export interface CheckResult {
  check: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  /** What to do; empty when nothing needs doing. */
  fix: string;
}

/** Lowest Deno version wirken is tested on. */
export const MIN_DENO = [2, 9, 0] as const;

/** Runs `cmd args` and returns its stdout, or `null` when it is absent or fails. */
export async function probe(cmd: string, args: string[], timeoutMs = 5000): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "null",
      stdin: "null",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

/** Deno is new enough. */
export function checkDeno(version = Deno.version.deno): CheckResult {
  const parts = version.split(".").map((n) => parseInt(n, 10));
  const ok = parts[0] > MIN_DENO[0] || (parts[0] === MIN_DENO[0] && parts[1] >= MIN_DENO[1]);
  return {
    check: "deno",
    status: ok ? "ok" : "fail",
    detail: `Deno ${version}`,
    fix: ok ? "" : `Install Deno ${MIN_DENO.join(".")} or newer: npm install -g deno@2.9.6`,
  };
}

/** The data directory exists and nobody else can read it. */
export async function checkDataDir(root: string): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(root);
  } catch {
    return [{
      check: "data dir",
      status: "warn",
      detail: `${root} does not exist yet`,
      fix: "`wirken run` or `wirken setup` creates it (mode 0700).",
    }];
  }
  if (!info.isDirectory) {
    return [{
      check: "data dir",
      status: "fail",
      detail: `${root} is not a directory${info.isSymlink ? " (a symlink)" : ""}`,
      fix: `Move it aside, or set WIRKEN_DATA_DIR to another folder.`,
    }];
  }
  const mode = (info.mode ?? 0) & 0o777;
  results.push({
    check: "data dir",
    status: mode === DIR_MODE ? "ok" : "fail",
    detail: `${root} mode ${mode.toString(8)}`,
    fix: mode === DIR_MODE ? "" : `chmod 700 ${root}`,
  });
  const loose: string[] = [];
  for await (const entry of Deno.readDir(root)) {
    const path = join(root, entry.name);
    const m = ((await Deno.lstat(path)).mode ?? 0) & 0o777;
    const want = entry.isDirectory ? DIR_MODE : FILE_MODE;
    if (entry.isFile || entry.isDirectory) {
      if ((m & 0o077) !== 0) {
        loose.push(`${entry.name} (${m.toString(8)}, want ${want.toString(8)})`);
      }
    }
  }
  results.push({
    check: "data files",
    status: loose.length ? "fail" : "ok",
    detail: loose.length ? `readable by others: ${loose.join(", ")}` : "only you can read them",
    fix: loose.length ? `chmod -R go-rwx ${root}` : "",
  });
  return results;
}

/** `config.json` parses. Returns the config for later checks. */
export async function checkConfig(root: string): Promise<{ result: CheckResult; config?: Config }> {
  const path = dataPaths(root).config;
  try {
    const config = await loadConfig(path);
    return {
      result: { check: "config", status: "ok", detail: path, fix: "" },
      config,
    };
  } catch (e) {
    const err = e as WirkenError;
    return {
      result: {
        check: "config",
        status: "fail",
        detail: err.message.split("\n").join("; "),
        fix: err.fix ?? "",
      },
    };
  }
}

/** The built-in SQLite works, with WAL. */
export async function checkSqlite(): Promise<CheckResult> {
  const dir = await Deno.makeTempDir({ prefix: "wirken-doctor-" });
  try {
    const db = new DatabaseSync(join(dir, "probe.db"));
    const version = (db.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v;
    const mode = (db.prepare("PRAGMA journal_mode = WAL").get() as { journal_mode: string })
      .journal_mode;
    db.close();
    const ok = mode === "wal";
    return {
      check: "sqlite",
      status: ok ? "ok" : "fail",
      detail: `SQLite ${version} (node:sqlite), journal ${mode}`,
      fix: ok ? "" : "The temp filesystem does not support WAL; set TMPDIR to a local disk.",
    };
  } catch (e) {
    return {
      check: "sqlite",
      status: "fail",
      detail: (e as Error).message,
      fix: "Use Deno 2.9 or newer (node:sqlite is built in).",
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Where the vault's master key lives (never prompts), and credentials due for rotation. */
export async function checkVault(
  root: string,
  env: { get(n: string): string | undefined },
): Promise<CheckResult[]> {
  const { describeKeychain, vaultWarnings } = await import("../vault/mod.ts");
  const k = await describeKeychain({ dataDir: root, env });
  const results: CheckResult[] = [{
    check: "keychain",
    status: k.ok ? "ok" : "warn",
    detail: `${k.label}: ${k.detail}`,
    fix: k.ok
      ? ""
      : k.backend === "passphrase" || k.backend === "none"
      ? "Set WIRKEN_VAULT_PASSPHRASE (or install libsecret-tools + gnome-keyring for the OS keychain)."
      : "Unlock your keychain (log in to the desktop session), or see docs/vault.md.",
  }];
  const warnings = k.vaultExists ? await vaultWarnings(root).catch(() => []) : [];
  results.push({
    check: "credentials",
    status: warnings.length ? "warn" : "ok",
    detail: warnings.length
      ? warnings.map((w) => w.message).join("; ")
      : "none expired or due for rotation within 14 days",
    fix: warnings.length ? "wirken credentials rotate <name>" : "",
  });
  return results;
}

/** bubblewrap and a container engine, for sandboxed tools. */
export async function checkSandboxes(): Promise<CheckResult[]> {
  const bwrap = await probe("bwrap", ["--version"]);
  const docker = await probe("docker", ["info", "--format", "{{.ServerVersion}}"], 8000);
  return [
    {
      check: "bubblewrap",
      status: bwrap ? "ok" : "warn",
      detail: bwrap ?? "bwrap not found",
      fix: bwrap ? "" : "apt-get install bubblewrap (Linux sandbox for exec and skills)",
    },
    {
      check: "docker",
      status: docker ? "ok" : "warn",
      detail: docker ? `engine ${docker}` : "no running Docker engine",
      fix: docker ? "" : "Install and start Docker to use the container sandbox (optional).",
    },
  ];
}

/** Default endpoints, for providers whose config has no `baseUrl`. */
const DEFAULT_URLS: Record<string, string> = {
  openai: "https://api.openai.com/v1/models",
  anthropic: "https://api.anthropic.com/v1/models",
  gemini: "https://generativelanguage.googleapis.com/v1beta/models",
  tinfoil: "https://inference.tinfoil.sh/v1/models",
  privatemode: "http://127.0.0.1:8080/v1/models",
  ollama: "http://127.0.0.1:11434/api/tags",
};

/** The configured provider answers over the network (any HTTP answer counts as reachable). */
export async function checkProvider(config: Config | undefined): Promise<CheckResult> {
  const p = config?.provider;
  if (!p) {
    return {
      check: "provider",
      status: "warn",
      detail: "no provider configured",
      fix: "Run `wirken setup`, or `wirken setup --provider ollama --model llama3.2`.",
    };
  }
  const url = p.baseUrl ?? DEFAULT_URLS[p.kind];
  if (!url) {
    return {
      check: "provider",
      status: "warn",
      detail: `${p.kind}: no endpoint to probe`,
      fix: p.kind === "bedrock"
        ? "Bedrock is checked when it answers its first request."
        : "Set provider.baseUrl.",
    };
  }
  try {
    const res = await fetch(url, { method: "GET", signal: AbortSignal.timeout(5000) });
    await res.body?.cancel();
    return {
      check: "provider",
      status: "ok",
      detail: `${p.kind} at ${new URL(url).origin} answered ${res.status}`,
      fix: "",
    };
  } catch (e) {
    return {
      check: "provider",
      status: "fail",
      detail: `${p.kind} at ${new URL(url).origin} unreachable: ${(e as Error).name}`,
      fix: p.kind === "ollama"
        ? "Start Ollama (`ollama serve`) or set provider.baseUrl."
        : "Check the network, proxy and provider.baseUrl.",
    };
  }
}

/** The org policy (if any): reachable or cached, verified, and what it enforces. */
export async function checkPolicy(
  root: string,
  config: Config | undefined,
): Promise<CheckResult[]> {
  if (!config?.org) return [];
  const [{ refreshPolicy }, { describePolicy, violations }, { applyPolicy }] = await Promise.all([
    import("../policy/refresh.ts"),
    import("../policy/apply.ts"),
    import("../policy/effective.ts"),
  ]);
  try {
    const r = await refreshPolicy(config.org, dataPaths(root).orgPolicy);
    const broken = violations(config, r.policy);
    // Local values the policy overrides (e.g. a shorter audit retention) are shown, not hidden.
    const adjusted = applyPolicy(config, r.policy).adjustments;
    return [{
      check: "org policy",
      status: broken.length ? "fail" : r.warning ? "warn" : "ok",
      detail: [
        ...describePolicy(r.policy),
        ...(r.warning ? [r.warning] : []),
        ...adjusted,
        ...broken,
      ].join("; "),
      fix: broken.length
        ? "Change config.json to stay within the policy."
        : r.warning
        ? "Reconnect to your organisation's network."
        : "",
    }];
  } catch (e) {
    const err = e as WirkenError;
    return [{ check: "org policy", status: "fail", detail: err.message, fix: err.fix ?? "" }];
  }
}

/** Every check, in the order the table shows them. */
export async function runChecks(
  root: string,
  env: { get(n: string): string | undefined },
): Promise<CheckResult[]> {
  const { result: config, config: parsed } = await checkConfig(root);
  const [dataDir, sqlite, keychain, sandboxes, provider, policy] = await Promise.all([
    checkDataDir(root),
    checkSqlite(),
    checkVault(root, env),
    checkSandboxes(),
    checkProvider(parsed),
    checkPolicy(root, parsed),
  ]);
  return [checkDeno(), ...dataDir, config, sqlite, ...keychain, ...sandboxes, provider, ...policy];
}
