#!/usr/bin/env bash
# Regenerates schema/wirken.ts from schema/wirken.capnp with capnp-es, or with --check proves the
# committed file is what the generator produces (exit 1 and a diff when it is not).
#
# Needs: `capnp` (Debian: apt-get install capnproto) and npm (fetches the pinned generator and
# TypeScript into a temp dir; the TS printer's version changes the output, hence the pins).
# Exit 3 when a tool is missing, so callers can skip loudly instead of failing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CAPNP_ES=0.0.16
TYPESCRIPT=6.0.3

command -v capnp >/dev/null 2>&1 || { echo "schema/gen.sh: capnp not found (apt-get install capnproto)" >&2; exit 3; }
command -v npm >/dev/null 2>&1 || { echo "schema/gen.sh: npm not found" >&2; exit 3; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null 2>&1 && npm install --no-audit --no-fund --silent \
  "capnp-es@${CAPNP_ES}" "typescript@${TYPESCRIPT}" >/dev/null 2>&1) \
  || { echo "schema/gen.sh: npm install of capnp-es/typescript failed" >&2; exit 3; }
cp "$here/wirken.capnp" "$work/wirken.capnp"
# Run from the schema's own directory with a relative name: the output does not embed paths.
(cd "$work" && ./node_modules/.bin/capnp-es wirken.capnp -ots >/dev/null)

if [ "${1:-}" = "--check" ]; then
  if diff -u "$here/wirken.ts" "$work/wirken.ts"; then
    echo "schema/gen.sh: schema/wirken.ts is up to date"
  else
    echo "schema/gen.sh: schema/wirken.ts differs from a fresh generation; run schema/gen.sh and commit" >&2
    exit 1
  fi
else
  cp "$work/wirken.ts" "$here/wirken.ts"
  echo "schema/gen.sh: wrote schema/wirken.ts"
fi
