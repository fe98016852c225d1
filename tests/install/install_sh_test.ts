import { commandAvailable } from "../skip.ts";
import { assert, assertEquals, assertFalse, assertStringIncludes } from "../assert.ts";

const SCRIPT = new URL("../../install.sh", import.meta.url).pathname;

function assetName(): string {
  const os = Deno.build.os === "darwin" ? "macos" : "linux";
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "x64";
  return `wirken-${os}-${arch}`;
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Serves a fake release: the binary and a SHA256SUMS claiming `sumOf`'s hash. */
async function fakeRelease(binary: Uint8Array<ArrayBuffer>, sumOf: Uint8Array<ArrayBuffer>) {
  const sums = `${await sha256Hex(sumOf)}  ${assetName()}\n`;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === `/${assetName()}`) return new Response(binary);
    if (path === "/SHA256SUMS") return new Response(sums);
    return new Response("no", { status: 404 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

async function runInstall(releaseUrl: string, installDir: string) {
  const out = await new Deno.Command("sh", {
    args: [SCRIPT],
    env: {
      WIRKEN_RELEASE_URL: releaseUrl,
      WIRKEN_INSTALL_DIR: installDir,
      PATH: Deno.env.get("PATH") ?? "",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

Deno.test("install.sh: installs a binary whose SHA-256 matches SHA256SUMS", async () => {
  const binary = new TextEncoder().encode("#!/bin/sh\necho wirken-fake\n");
  const release = await fakeRelease(binary, binary);
  const dir = await Deno.makeTempDir();
  try {
    const r = await runInstall(release.url, dir);
    assertEquals(r.code, 0, r.text);
    assertStringIncludes(r.text, "SHA-256 verified");
    const installed = await Deno.readFile(`${dir}/wirken`);
    assertEquals(installed, binary);
    assert(((await Deno.stat(`${dir}/wirken`)).mode ?? 0) & 0o100);
  } finally {
    await release.close();
  }
});

Deno.test("install.sh: refuses a tampered binary and installs nothing", async () => {
  const good = new TextEncoder().encode("#!/bin/sh\necho good\n");
  const evil = new TextEncoder().encode("#!/bin/sh\necho evil\n");
  const release = await fakeRelease(evil, good);
  const dir = await Deno.makeTempDir();
  try {
    const r = await runInstall(release.url, dir);
    assertEquals(r.code, 1);
    assertStringIncludes(r.text, "checksum mismatch");
    assertFalse(await Deno.stat(`${dir}/wirken`).then(() => true, () => false));
  } finally {
    await release.close();
  }
});

Deno.test("install.sh: a release without a checksum entry is refused", async () => {
  const binary = new TextEncoder().encode("x");
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/SHA256SUMS"
        ? new Response("abc  some-other-asset\n")
        : new Response(binary),
  );
  const dir = await Deno.makeTempDir();
  try {
    const r = await runInstall(`http://127.0.0.1:${server.addr.port}`, dir);
    assertEquals(r.code, 1);
    assertStringIncludes(r.text, "no entry for");
  } finally {
    await server.shutdown();
  }
});

Deno.test("install.sh: an unsupported CPU is named and nothing is downloaded", async () => {
  const bin = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${bin}/uname`,
    '#!/bin/sh\n[ "$1" = "-m" ] && echo sparc64 || echo Linux\n',
    {
      mode: 0o755,
    },
  );
  const out = await new Deno.Command("sh", {
    args: [SCRIPT],
    env: { PATH: `${bin}:${Deno.env.get("PATH")}`, WIRKEN_RELEASE_URL: "http://127.0.0.1:9/none" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 1);
  assertStringIncludes(new TextDecoder().decode(out.stderr), "unsupported CPU sparc64");
});

Deno.test("install.sh --from-source: installs a wrapper that runs this checkout", async () => {
  const dir = await Deno.makeTempDir();
  const out = await new Deno.Command("sh", {
    args: [SCRIPT, "--from-source"],
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      WIRKEN_INSTALL_DIR: dir,
      HOME: Deno.env.get("HOME") ?? "/tmp",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, text);
  assertStringIncludes(text, "Installed a wirken wrapper");
  const version = await new Deno.Command(`${dir}/wirken`, { args: ["--version"], stdout: "piped" })
    .output();
  assert(version.success);
  assertStringIncludes(new TextDecoder().decode(version.stdout), "wirken ");
});

const hasShellcheck = await commandAvailable("shellcheck", "apt-get install shellcheck");

Deno.test({ name: "install.sh: shellcheck finds nothing", ignore: !hasShellcheck }, async () => {
  const out = await new Deno.Command("shellcheck", {
    args: [SCRIPT, new URL("../../.ci/run", import.meta.url).pathname],
    stdout: "piped",
  })
    .output();
  assert(out.success, new TextDecoder().decode(out.stdout));
});
