#!/bin/sh
# Signs a release's SHA256SUMS with the wirken release key: writes SHA256SUMS.sig (an SSH
# signature, namespace "wirken-release", the format install.sh checks with ssh-keygen -Y verify),
# then verifies it against the committed public key so a wrong or rotated secret fails the
# release instead of publishing one that every install refuses.
#
#   WIRKEN_RELEASE_SIGNING_KEY="$(cat key)" sh .github/sign-sums.sh dist [docs/release-key.pub]
#
# WIRKEN_RELEASE_SIGNING_KEY holds the OpenSSH private key text (the CI secret of the same name).
set -eu

dir="${1:?usage: sign-sums.sh <dir with SHA256SUMS> [public key file]}"
pub="${2:-$(dirname "$0")/../docs/release-key.pub}"
namespace="wirken-release"

fail() { echo "sign-sums: $*" >&2; exit 1; }

[ -f "$dir/SHA256SUMS" ] || fail "no $dir/SHA256SUMS to sign"
[ -f "$pub" ] || fail "no public key at $pub"
[ -n "${WIRKEN_RELEASE_SIGNING_KEY:-}" ] ||
  fail "WIRKEN_RELEASE_SIGNING_KEY is empty: store the release private key as the repository secret WIRKEN_RELEASE_SIGNING_KEY (see docs/releasing.md)"

umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT INT TERM
printf '%s\n' "$WIRKEN_RELEASE_SIGNING_KEY" > "$work/key"
rm -f "$dir/SHA256SUMS.sig"
ssh-keygen -Y sign -f "$work/key" -n "$namespace" "$dir/SHA256SUMS" 2>/dev/null ||
  fail "ssh-keygen could not sign with WIRKEN_RELEASE_SIGNING_KEY (is it an OpenSSH Ed25519 private key without passphrase?)"

printf '%s %s\n' "$namespace" "$(cut -d' ' -f1,2 "$pub")" > "$work/allowed_signers"
ssh-keygen -Y verify -f "$work/allowed_signers" -I "$namespace" -n "$namespace" \
  -s "$dir/SHA256SUMS.sig" < "$dir/SHA256SUMS" >/dev/null ||
  fail "the signature does not verify against $pub: the secret is not the release key pinned in install.sh"
echo "Signed $dir/SHA256SUMS (verified against $pub)."
