#!/bin/sh
# wirken installer: downloads the release binary for this machine, checks that the release's
# SHA256SUMS is signed by the wirken release key pinned below (ssh-keygen -Y verify), verifies
# the binary's SHA-256 against those sums, and only then installs it.
#
#   curl -fsSL https://raw.githubusercontent.com/wirken/wirken/main/install.sh | sh
#   sh install.sh --from-source     (from a checkout: Deno from npm + a wrapper running it)
#
# Environment:
#   WIRKEN_VERSION      release tag to install (default: latest)
#   WIRKEN_INSTALL_DIR  where to put the binary (default: ~/.local/bin)
#   WIRKEN_RELEASE_URL  base URL of the release assets (default: GitHub releases)
set -eu

# The wirken release key (also in docs/release-key.pub). SHA256SUMS.sig must be an SSH signature
# (namespace "wirken-release") of SHA256SUMS by this key, or nothing is installed. It is pinned
# here, not read from the environment: whoever can swap the release files must not also be able
# to swap the key they are checked against.
release_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEBAIgjRBxqH8FmGJB/5I7578J5/syYKcYm8fh1hzVos"
sig_namespace="wirken-release"

repo="wirken/wirken"
version="${WIRKEN_VERSION:-latest}"
install_dir="${WIRKEN_INSTALL_DIR:-$HOME/.local/bin}"

fail() { echo "wirken install: $*" >&2; exit 1; }

next_steps() {
  case ":$PATH:" in
    *":$install_dir:"*) ;;
    *) echo "Add ${install_dir} to your PATH, e.g.: export PATH=\"${install_dir}:\$PATH\"" ;;
  esac
  echo "Next: wirken setup && wirken run"
}

if [ "${1:-}" = "--from-source" ]; then
  # Runs the checkout this script lives in through Deno (installed from npm when missing).
  src="$(cd "$(dirname "$0")" && pwd)"
  if [ ! -f "$src/main.ts" ] || [ ! -f "$src/deno.json" ]; then
    fail "--from-source must be run from a wirken checkout (no main.ts next to $0)"
  fi
  deno_bin="$(command -v deno || true)"
  if [ -z "$deno_bin" ]; then
    command -v npm >/dev/null 2>&1 || fail "need npm to install Deno (or install Deno 2.9+ yourself)"
    echo "Installing Deno from npm..."
    npm install -g deno@2.9.6 >/dev/null || fail "npm install -g deno@2.9.6 failed"
    deno_bin="$(command -v deno)" || fail "deno is still not on PATH after npm install"
  fi
  mkdir -p "$install_dir"
  tmpw="$(mktemp)"
  cat > "$tmpw" <<WRAPPER
#!/bin/sh
# wirken from source: $src
exec "$deno_bin" run --allow-read --allow-write --allow-net --allow-env --allow-run --allow-sys --unstable-worker-options "$src/main.ts" "\$@"
WRAPPER
  chmod 0755 "$tmpw"
  mv "$tmpw" "$install_dir/wirken"
  echo "Installed a wirken wrapper to ${install_dir}/wirken (runs ${src} with ${deno_bin})."
  next_steps
  exit 0
fi
[ $# -eq 0 ] || fail "unknown option $1 (only --from-source is supported)"

case "$(uname -s)" in
  Linux) os="linux" ;;
  Darwin) os="macos" ;;
  *) fail "unsupported OS $(uname -s); build from source with Deno (see README)" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch="x64" ;;
  aarch64 | arm64) arch="arm64" ;;
  *) fail "unsupported CPU $(uname -m); build from source with Deno (see README)" ;;
esac
asset="wirken-${os}-${arch}"

if [ -n "${WIRKEN_RELEASE_URL:-}" ]; then
  base="$WIRKEN_RELEASE_URL"
elif [ "$version" = "latest" ]; then
  base="https://github.com/${repo}/releases/latest/download"
else
  base="https://github.com/${repo}/releases/download/${version}"
fi

if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --proto '=https,http' -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q -O "$2" "$1"; }
else
  fail "need curl or wget"
fi
if command -v sha256sum >/dev/null 2>&1; then
  sha() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
  sha() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
  fail "need sha256sum or shasum to verify the download"
fi
command -v ssh-keygen >/dev/null 2>&1 ||
  fail "need ssh-keygen (OpenSSH 8.1 or newer) to check the release signature; install it (Debian/Ubuntu: apt-get install openssh-client; Fedora: dnf install openssh; Alpine: apk add openssh-keygen) and run this again. Nothing was installed."

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "Downloading ${asset} (${version})..."
fetch "${base}/${asset}" "$tmp/wirken" || fail "download of ${base}/${asset} failed"
fetch "${base}/SHA256SUMS" "$tmp/SHA256SUMS" || fail "download of ${base}/SHA256SUMS failed"
fetch "${base}/SHA256SUMS.sig" "$tmp/SHA256SUMS.sig" ||
  fail "the release has no signature (${base}/SHA256SUMS.sig could not be downloaded), so its checksums cannot be trusted. Nothing was installed."

# The sums are only as good as their signature: check it before reading a single line of them.
printf '%s %s\n' "$sig_namespace" "$release_key" > "$tmp/allowed_signers"
if ! ssh-keygen -Y verify -f "$tmp/allowed_signers" -I "$sig_namespace" -n "$sig_namespace" \
  -s "$tmp/SHA256SUMS.sig" < "$tmp/SHA256SUMS" > "$tmp/verify.log" 2>&1; then
  if grep -qi "option" "$tmp/verify.log"; then
    fail "this ssh-keygen cannot check signatures (OpenSSH 8.1 or newer is needed); upgrade OpenSSH and run this again. Nothing was installed."
  fi
  fail "SHA256SUMS is not signed by the wirken release key ($(head -n 1 "$tmp/verify.log")). Nothing was installed."
fi
echo "Release signature verified (wirken release key)."

expected="$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1 }' "$tmp/SHA256SUMS")"
[ -n "$expected" ] || fail "SHA256SUMS has no entry for ${asset}"
actual="$(sha "$tmp/wirken")"
[ "$expected" = "$actual" ] || fail "checksum mismatch for ${asset}: expected ${expected}, got ${actual}. Nothing was installed."

mkdir -p "$install_dir"
chmod 0755 "$tmp/wirken"
mv "$tmp/wirken" "$install_dir/wirken"
echo "Installed wirken to ${install_dir}/wirken (signature and SHA-256 verified)."
next_steps
