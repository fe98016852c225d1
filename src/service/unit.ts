/**
 * The text of the system service that starts `wirken run` at login: a systemd user unit on
 * Linux, a launchd agent on macOS.
 *
 * @module
 */

/** What the service runs. */
export interface ServiceSpec {
  /** argv of `wirken run`, absolute program path first. */
  command: readonly string[];
  /** The data directory; the only place the service may write. */
  dataDir: string;
}

/** Quotes one ExecStart word the way systemd parses it; `%` is systemd's specifier escape. */
function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, "%%");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** A systemd user unit with restart-on-failure and a tight sandbox. */
export function systemdUnit(spec: ServiceSpec): string {
  const dataDir = systemdWord(spec.dataDir);
  return `# Installed by \`wirken setup --install-service\`; remove with --uninstall-service.
[Unit]
Description=wirken AI agent gateway
Documentation=https://github.com/wirken/wirken
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${spec.command.map(systemdWord).join(" ")}
Environment=WIRKEN_DATA_DIR=${dataDir}
Restart=on-failure
RestartSec=5
# Hardening: the gateway writes only to its data directory.
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths=${dataDir}
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
LockPersonality=yes
SystemCallArchitectures=native
UMask=0077

[Install]
WantedBy=default.target
`;
}

/** launchd label of the macOS agent. */
export const LAUNCHD_LABEL = "dev.wirken.gateway";

function xml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

/** A launchd agent plist that keeps the gateway running after a crash. */
export function launchdPlist(spec: ServiceSpec): string {
  const args = spec.command.map((a) => `    <string>${xml(a)}</string>`).join("\n");
  const log = xml(`${spec.dataDir}/logs/service.log`);
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>EnvironmentVariables</key>
  <dict>
    <key>WIRKEN_DATA_DIR</key>
    <string>${xml(spec.dataDir)}</string>
  </dict>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>Umask</key>
  <integer>63</integer>
  <key>StandardOutPath</key>
  <string>${log}</string>
  <key>StandardErrorPath</key>
  <string>${log}</string>
</dict>
</plist>
`;
}
