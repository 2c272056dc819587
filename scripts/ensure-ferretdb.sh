#!/usr/bin/env bash
# Builds FerretDB v1.24.2 (a MongoDB wire-protocol server) once, from the module source served by
# the Go module proxy, into a cache folder outside the repository, and prints the binary's path on
# stdout. Re-runs are instant: the binary is reused when present.
#   SLUICE_CACHE_DIR  where to keep it (default: ${XDG_CACHE_HOME:-$HOME/.cache}/sluice)
#
# Why a copy of the source: FerretDB embeds build/version/version.txt, which its release
# tooling generates and the module zip does not contain; a binary built straight from the module
# cache panics at start-up. We copy the module, write that file with the exact version, and build.
set -euo pipefail
version="v1.24.2"
cache="${SLUICE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}"
home="$cache/ferretdb-$version"
bin="$home/bin/ferretdb"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "ensure-ferretdb: Go is not on PATH; install Go, put mongod on PATH, or set MONGO_URL" >&2
  exit 1
fi
echo "ensure-ferretdb: building FerretDB $version through the Go module proxy (first time only; this takes a few minutes)..." >&2
start=$(date +%s)
mkdir -p "$home/bin"
dir=$(cd "$home" && GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
  echo "ensure-ferretdb: could not download github.com/FerretDB/FerretDB@$version from the Go module proxy" >&2
  exit 1
fi
src="$home/src.$$"
rm -rf "$src"
cp -r "$dir" "$src"
chmod -R u+w "$src"
echo "$version" > "$src/build/version/version.txt"
(cd "$src" && go build -trimpath -o "$bin.tmp" ./cmd/ferretdb >&2)
mv "$bin.tmp" "$bin"
rm -rf "$src"
echo "ensure-ferretdb: built $bin in $(( $(date +%s) - start ))s" >&2
echo "$bin"
