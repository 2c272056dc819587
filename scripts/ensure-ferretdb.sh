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
# The build's own output (one `go: downloading` line per module) goes to a log; the terminal
# gets one progress line, updated in place (a line every 30 s when stderr is not a terminal).
buildlog="$home/build.log"
# Stops a background command started with setsid, and everything in its process group: SIGTERM
# until the group is empty, SIGKILL after 5 s.
stop_group() {
  local i
  for i in $(seq 1 25); do
    kill -TERM -- -"$1" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL -- -"$1" 2>/dev/null || true
}
# The build runs in its own process group (setsid), with its temporary files in $gotmp: on Ctrl-C
# (or SIGTERM) the trap stops go and its compilers together and leaves nothing half-built behind.
# (A background command of a script ignores SIGINT, and go waits for its compilers on SIGINT.)
gotmp="$home/tmp.$$"
mkdir -p "$gotmp"
(cd "$src" && GOTMPDIR="$gotmp" exec setsid go build -trimpath -o "$bin.tmp" ./cmd/ferretdb) >"$buildlog" 2>&1 &
build=$!
trap 'stop_group "$build"; wait "$build" 2>/dev/null || true; rm -rf "$src" "$gotmp" "$bin.tmp"; echo >&2; echo "ensure-ferretdb: interrupted; the build starts over next time" >&2; exit 130' INT TERM
last=0
while kill -0 "$build" 2>/dev/null; do
  sleep 1
  now=$(( $(date +%s) - start ))
  modules=$(grep -c '^go: downloading' "$buildlog" || true)
  phase="building"
  # With a warm Go module cache nothing is downloaded: the whole time is compiling.
  [ "$modules" -gt 0 ] && phase="building: $modules Go modules downloaded"
  if [ -t 2 ]; then
    printf '\rensure-ferretdb: %s, %ss elapsed   ' "$phase" "$now" >&2
  elif [ $(( now - last )) -ge 30 ]; then
    echo "ensure-ferretdb: $phase, ${now}s elapsed" >&2
    last=$now
  fi
done
[ -t 2 ] && echo >&2
status=0
wait "$build" || status=$?
trap - INT TERM
if [ "$status" -ne 0 ]; then
  echo "ensure-ferretdb: go build failed; its last lines ($buildlog):" >&2
  tail -n 20 "$buildlog" >&2
  exit 1
fi
mv "$bin.tmp" "$bin"
rm -rf "$src" "$gotmp"
echo "ensure-ferretdb: built $bin in $(( $(date +%s) - start ))s" >&2
echo "$bin"
