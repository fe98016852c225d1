/**
 * Installing and removing the service: writes the unit/plist and asks systemd/launchd to load
 * it. Where the service manager is absent, says so and leaves the file for the user.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { WirkenError } from "../errors.ts";
import { LAUNCHD_LABEL, launchdPlist, type ServiceSpec, systemdUnit } from "./unit.ts";

/** Runs a command and reports success plus its combined output (tests pass a fake). */
export type CommandRunner = (
  cmd: string,
  args: string[],
) => Promise<{ ok: boolean; output: string }>;

/** The real runner. */
export async function runCommand(
  cmd: string,
  args: string[],
): Promise<{ ok: boolean; output: string }> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    })
      .output();
    const d = new TextDecoder();
    return { ok: out.success, output: (d.decode(out.stdout) + d.decode(out.stderr)).trim() };
  } catch (e) {
    return { ok: false, output: (e as Error).message };
  }
}

/** Where the service file lives and what happened. */
export interface ServiceResult {
  path: string;
  /** The service manager accepted it (false: file written, user must load it). */
  loaded: boolean;
  /** What to tell the user. */
  message: string;
  /** The file's text, shown when the manager is absent. */
  text: string;
}

/** Options shared by install and uninstall. */
export interface ServiceOptions {
  home: string;
  os?: typeof Deno.build.os;
  run?: CommandRunner;
  uid?: number;
}

function servicePath(os: string, home: string): string {
  if (os === "linux") return join(home, ".config/systemd/user/wirken.service");
  if (os === "darwin") return join(home, `Library/LaunchAgents/${LAUNCHD_LABEL}.plist`);
  throw new WirkenError(`Installing a service is not supported on ${os}.`, {
    fix: "Start `wirken run` from your system's own startup mechanism.",
  });
}

/** Writes and enables the service. */
export async function installService(
  spec: ServiceSpec,
  options: ServiceOptions,
): Promise<ServiceResult> {
  const os = options.os ?? Deno.build.os;
  const run = options.run ?? runCommand;
  const path = servicePath(os, options.home);
  const text = os === "linux" ? systemdUnit(spec) : launchdPlist(spec);
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeTextFile(path, text, { mode: 0o644 });
  if (os === "linux") {
    const reload = await run("systemctl", ["--user", "daemon-reload"]);
    const enable = reload.ok
      ? await run("systemctl", ["--user", "enable", "--now", "wirken.service"])
      : reload;
    if (enable.ok) {
      return { path, loaded: true, text, message: `Enabled and started wirken.service (${path}).` };
    }
    return {
      path,
      loaded: false,
      text,
      message: `The systemd user manager is not available here (${firstLine(enable.output)}).\n` +
        `The unit was written to ${path}. In a login session run:\n` +
        `  systemctl --user daemon-reload && systemctl --user enable --now wirken.service\n` +
        `(and \`loginctl enable-linger $USER\` to start it without logging in).`,
    };
  }
  const uid = options.uid ?? Deno.uid() ?? 501;
  const boot = await run("launchctl", ["bootstrap", `gui/${uid}`, path]);
  return boot.ok ? { path, loaded: true, text, message: `Loaded ${LAUNCHD_LABEL} (${path}).` } : {
    path,
    loaded: false,
    text,
    message:
      `launchctl refused it (${firstLine(boot.output)}). The plist is at ${path}; load it with:\n` +
      `  launchctl bootstrap gui/$(id -u) ${path}`,
  };
}

/** Stops, disables and removes the service; fine when it was never installed. */
export async function uninstallService(options: ServiceOptions): Promise<ServiceResult> {
  const os = options.os ?? Deno.build.os;
  const run = options.run ?? runCommand;
  const path = servicePath(os, options.home);
  if (os === "linux") {
    await run("systemctl", ["--user", "disable", "--now", "wirken.service"]);
  } else {
    await run("launchctl", ["bootout", `gui/${options.uid ?? Deno.uid() ?? 501}/${LAUNCHD_LABEL}`]);
  }
  const existed = await Deno.remove(path).then(() => true, (e) => {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  });
  if (os === "linux") await run("systemctl", ["--user", "daemon-reload"]);
  return {
    path,
    loaded: false,
    text: "",
    message: existed ? `Removed the service (${path}).` : `No service was installed (${path}).`,
  };
}

function firstLine(s: string): string {
  return s.split("\n")[0]?.slice(0, 200) || "no output";
}
