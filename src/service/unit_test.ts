import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { join } from "node:path";
import { commandAvailable } from "../../tests/skip.ts";
import { launchdPlist, systemdUnit } from "./unit.ts";
import { type CommandRunner, installService, uninstallService } from "./install.ts";

const spec = {
  command: [Deno.execPath(), "run", "--allow-read", "/opt/wirken src/main.ts", "run"],
  dataDir: "/home/a b/.wirken",
};

Deno.test("systemd unit: restart on failure, hardening, data dir writable, args quoted", () => {
  const unit = systemdUnit(spec);
  for (
    const line of [
      "Restart=on-failure",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      'ReadWritePaths="/home/a b/.wirken"',
      'Environment=WIRKEN_DATA_DIR="/home/a b/.wirken"',
      '"/opt/wirken src/main.ts"',
      "WantedBy=default.target",
    ]
  ) assertStringIncludes(unit, line);
  assertStringIncludes(systemdUnit({ command: ["/bin/w", "50%"], dataDir: "/d" }), "50%%");
});

const hasAnalyze = await commandAvailable("systemd-analyze", "apt-get install systemd");

Deno.test({
  name: "systemd unit: systemd-analyze verify accepts it",
  ignore: !hasAnalyze,
}, async () => {
  const dir = await Deno.makeTempDir();
  const dataDir = join(dir, "data");
  await Deno.mkdir(dataDir);
  const path = join(dir, "wirken.service");
  await Deno.writeTextFile(
    path,
    systemdUnit({ command: [Deno.execPath(), "run", "main.ts", "run"], dataDir }),
  );
  const out = await new Deno.Command("systemd-analyze", {
    args: ["verify", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr);
  assert(out.success, text);
  // A unit with a bad ExecStart must fail, or the check above proves nothing.
  await Deno.writeTextFile(path, systemdUnit({ command: ["relative/path", "run"], dataDir }));
  const bad = await new Deno.Command("systemd-analyze", {
    args: ["verify", path],
    stdout: "null",
    stderr: "null",
  })
    .output();
  assertEquals(bad.success, false);
});

Deno.test("launchd plist: label, arguments escaped, keep-alive on crash", () => {
  const plist = launchdPlist({
    command: ["/usr/local/bin/wirken", "run", "<&>"],
    dataDir: "/Users/a/.wirken",
  });
  assertStringIncludes(plist, "<string>dev.wirken.gateway</string>");
  assertStringIncludes(plist, "<string>&lt;&amp;&gt;</string>");
  assertStringIncludes(plist, "<key>SuccessfulExit</key>\n    <false/>");
});

Deno.test("install/uninstall: writes the unit and enables it; without systemd says so", async () => {
  const home = await Deno.makeTempDir();
  const calls: string[] = [];
  const ok: CommandRunner = (cmd, args) => {
    calls.push([cmd, ...args].join(" "));
    return Promise.resolve({ ok: true, output: "" });
  };
  const r = await installService(spec, { home, os: "linux", run: ok });
  assert(r.loaded);
  assertEquals(r.path, join(home, ".config/systemd/user/wirken.service"));
  assertStringIncludes(await Deno.readTextFile(r.path), "Restart=on-failure");
  assert(calls.includes("systemctl --user enable --now wirken.service"));

  const absent: CommandRunner = () =>
    Promise.resolve({ ok: false, output: "Failed to connect to bus" });
  const r2 = await installService(spec, { home, os: "linux", run: absent });
  assertEquals(r2.loaded, false);
  assertStringIncludes(r2.message, "not available here (Failed to connect to bus)");
  assertStringIncludes(r2.message, "systemctl --user enable --now wirken.service");

  const u = await uninstallService({ home, os: "linux", run: ok });
  assertStringIncludes(u.message, "Removed");
  const again = await uninstallService({ home, os: "linux", run: ok });
  assertStringIncludes(again.message, "No service was installed");
});

Deno.test("install: macOS writes a LaunchAgent and bootstraps it", async () => {
  const home = await Deno.makeTempDir();
  const calls: string[] = [];
  const run: CommandRunner = (cmd, args) => {
    calls.push([cmd, ...args].join(" "));
    return Promise.resolve({ ok: true, output: "" });
  };
  const r = await installService(spec, { home, os: "darwin", run, uid: 501 });
  assertEquals(r.path, join(home, "Library/LaunchAgents/dev.wirken.gateway.plist"));
  assertEquals(calls, [`launchctl bootstrap gui/501 ${r.path}`]);
});
