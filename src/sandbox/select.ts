/**
 * Picks the sandbox for shell commands from config, with a clear default:
 * `auto` = bubblewrap when it works here (Linux), else Docker/Podman when an engine answers,
 * else nothing: exec is then unavailable and says why. Host execution is never a fallback; it
 * happens only when config says `host`.
 *
 * macOS: bubblewrap does not exist there and `sandbox-exec` is deprecated by Apple, so `auto`
 * uses Docker (Docker Desktop, Colima or Podman machine); without an engine, exec refuses.
 *
 * Backends are imported lazily: nothing sandbox-related loads until a command needs it.
 *
 * @module
 */
import type { Sandbox, SandboxLimits } from "./types.ts";
import { SandboxError } from "./types.ts";

/**
 * A sandbox an organisation policy requires. It replaces `auto`'s fallback chain: the required
 * backend or nothing, never a weaker one because the required one is missing here.
 */
export interface RequiredSandbox {
  backend: "bubblewrap" | "docker" | "wasm";
  /** Who requires it and why, e.g. `Example Corp's policy (policy: containers only)`. */
  by: string;
}

/** The `tools` config keys this needs (a subset of `ToolsSchema`), plus an org requirement. */
export interface SandboxSettings {
  sandbox: "auto" | "bwrap" | "docker" | "host";
  /** Set from the org policy; local config cannot remove it. */
  required?: RequiredSandbox;
  docker: { engine: "docker" | "podman"; image: string; user?: string };
  memoryMb: number;
  maxProcesses: number;
  outputLimitBytes: number;
}

/** Limits from config (`execTimeoutSeconds` lives in `limits`). */
export function limitsFrom(settings: SandboxSettings, execTimeoutSeconds: number): SandboxLimits {
  return {
    timeoutMs: execTimeoutSeconds * 1000,
    maxOutputBytes: settings.outputLimitBytes,
    memoryBytes: settings.memoryMb * 1024 * 1024,
    maxProcesses: settings.maxProcesses,
  };
}

/** Creates the configured sandbox for `workspace` (a real path), or throws why none is usable. */
export async function createSandbox(
  settings: SandboxSettings,
  workspace: string,
): Promise<Sandbox> {
  const required = settings.required;
  if (required?.backend === "wasm") throw wasmOnly(required);
  const want = required
    ? (required.backend === "bubblewrap" ? "bwrap" : "docker")
    : settings.sandbox;
  if (want === "host") {
    const { HostSandbox } = await import("./host.ts");
    return new HostSandbox(workspace);
  }
  if (want === "bwrap" || want === "auto") {
    const { BwrapSandbox } = await import("./bwrap.ts");
    if (await BwrapSandbox.available()) return new BwrapSandbox({ workspace });
    if (want === "bwrap") {
      if (required) {
        throw new SandboxError(
          `${required.by} requires bubblewrap for shell commands, and it cannot run here; exec is refused rather than run in a weaker sandbox.`,
          { fix: "Install bubblewrap (apt-get install bubblewrap) and allow user namespaces." },
        );
      }
      throw new SandboxError("bubblewrap is configured but cannot run here.", {
        fix:
          "Install it (apt-get install bubblewrap) and allow user namespaces, or set tools.sandbox to docker.",
      });
    }
  }
  const { DockerSandbox } = await import("./docker.ts");
  const why = await DockerSandbox.unavailableReason(settings.docker.engine);
  if (why === null) {
    return new DockerSandbox({
      workspace,
      image: settings.docker.image,
      engine: settings.docker.engine,
      user: settings.docker.user,
      extraArgs: settings.docker.engine === "podman" ? ["--runtime", "runc"] : [],
    });
  }
  if (required) {
    throw new SandboxError(
      `${required.by} requires Docker/Podman for shell commands, and none is usable here (${why}); exec is refused rather than run in a weaker sandbox.`,
      { fix: `Start ${settings.docker.engine} and make sure the image is present.` },
    );
  }
  throw new SandboxError(`No sandbox is available for shell commands: ${why}.`, {
    fix:
      "Install bubblewrap (Linux) or start Docker/Podman; or, knowingly, set tools.sandbox to host.",
  });
}

/** The Wasm sandbox runs Wasm skills only; a shell command has no place to run under it. */
function wasmOnly(required: RequiredSandbox): SandboxError {
  return new SandboxError(
    `${required.by} requires the Wasm sandbox, which runs Wasm skills only; shell commands (exec) are refused.`,
    { fix: "Use Wasm skills, or ask your administrator to require bubblewrap or docker." },
  );
}

/**
 * One sandbox per workspace, created on first use and reused (the availability probes run
 * once). A failed creation is not cached, so installing bwrap later works without a restart.
 */
export function sandboxProvider(
  settings: SandboxSettings,
): (workspace: string) => Promise<Sandbox> {
  const cache = new Map<string, Promise<Sandbox>>();
  return (workspace) => {
    let sandbox = cache.get(workspace);
    if (!sandbox) {
      sandbox = createSandbox(settings, workspace);
      cache.set(workspace, sandbox);
      sandbox.catch(() => cache.delete(workspace));
    }
    return sandbox;
  };
}

/** What `wirken doctor` shows about the sandbox. */
export interface SandboxStatus {
  ok: boolean;
  /** The backend `auto`/the configured value resolves to, or null when none works. */
  kind: Sandbox["kind"] | null;
  detail: string;
}

/** Probes which sandbox shell commands would use, without running anything in it. */
export async function sandboxStatus(settings: SandboxSettings): Promise<SandboxStatus> {
  const required = settings.required;
  if (required) return await requiredStatus(settings, required);
  if (settings.sandbox === "host") {
    return { ok: true, kind: "host", detail: "host execution (no sandbox), opted in by config" };
  }
  if (settings.sandbox !== "docker") {
    const { BwrapSandbox } = await import("./bwrap.ts");
    if (await BwrapSandbox.available()) {
      return { ok: true, kind: "bwrap", detail: "bubblewrap: no network, read-only system" };
    }
    if (settings.sandbox === "bwrap") {
      return { ok: false, kind: null, detail: "bubblewrap is configured but cannot run here" };
    }
  }
  const { DockerSandbox } = await import("./docker.ts");
  const why = await DockerSandbox.unavailableReason(settings.docker.engine);
  return why === null
    ? {
      ok: true,
      kind: "docker",
      detail: `${settings.docker.engine}, image ${settings.docker.image}`,
    }
    : { ok: false, kind: null, detail: `no sandbox for exec: ${why}` };
}

/** {@linkcode sandboxStatus} under an org requirement: the required backend or nothing. */
async function requiredStatus(
  settings: SandboxSettings,
  required: RequiredSandbox,
): Promise<SandboxStatus> {
  if (required.backend === "wasm") {
    return { ok: false, kind: null, detail: wasmOnly(required).message };
  }
  if (required.backend === "bubblewrap") {
    const { BwrapSandbox } = await import("./bwrap.ts");
    return await BwrapSandbox.available()
      ? {
        ok: true,
        kind: "bwrap",
        detail: `bubblewrap (required by ${required.by}): no network, read-only system`,
      }
      : {
        ok: false,
        kind: null,
        detail: `${required.by} requires bubblewrap, which cannot run here; exec is refused`,
      };
  }
  const { DockerSandbox } = await import("./docker.ts");
  const why = await DockerSandbox.unavailableReason(settings.docker.engine);
  return why === null
    ? {
      ok: true,
      kind: "docker",
      detail:
        `${settings.docker.engine} (required by ${required.by}), image ${settings.docker.image}`,
    }
    : {
      ok: false,
      kind: null,
      detail:
        `${required.by} requires Docker/Podman, which is unusable here (${why}); exec is refused`,
    };
}
