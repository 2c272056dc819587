#!/usr/bin/env bash
# Installs the dependencies (npm ci, which also builds dist/ through the `prepare` script) when
# node_modules is missing or older than package-lock.json, quietly: npm's own output (lifecycle
# banners such as "> sluice@0.1.0 prepare", the tsc and vite lines, EBADENGINE warnings, the
# progress spinner) goes to .sluice/npm-ci.log, and the terminal gets one progress line, updated
# in place (a line every 30 s when stderr is not a terminal), then one line with the elapsed time:
#   07:41:02 sluice: dependencies: npm ci: added 432 packages, built dist/ (118 s; ...)
# On failure it prints the log's last lines and exits with npm's status. Ctrl-C stops npm as
# usual (npm runs in the foreground); node_modules is then incomplete and the next run installs
# again. Used by scripts/start.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x node_modules/.bin/node ] && [ ! package-lock.json -nt node_modules/.package-lock.json ]; then
  exit 0
fi
mkdir -p .sluice
log=.sluice/npm-ci.log
: >"$log"
start=$(date +%s)
script=$$

# The progress line, from the background while npm runs in the foreground (where Ctrl-C reaches
# it); it stops when told to or when this script is gone.
progress() {
  local last=0 now phase
  while kill -0 "$script" 2>/dev/null; do
    sleep 1
    now=$(( $(date +%s) - start ))
    if grep -q '^> sluice@[^ ]* \(prepare\|prebuild\|build\|postbuild\)' "$log" 2>/dev/null; then
      phase="building dist/ (prepare)"
    else
      phase="installing packages"
    fi
    if [ -t 2 ]; then
      printf '\rsluice: dependencies: npm ci: %s, %ss elapsed   ' "$phase" "$now" >&2
    elif [ $(( now - last )) -ge 30 ]; then
      echo "sluice: dependencies: npm ci: $phase, ${now}s elapsed" >&2
      last=$now
    fi
  done
}
progress &
progress_pid=$!
stop_progress() {
  kill "$progress_pid" 2>/dev/null || true
  wait "$progress_pid" 2>/dev/null || true
  # Clear the progress line.
  if [ -t 2 ]; then printf '\r%*s\r' 78 '' >&2; fi
}
trap 'stop_progress; echo "sluice: dependencies: npm ci interrupted; it runs again next time" >&2; exit 130' INT TERM

status=0
# npm runs on the machine's Node (it may be older than 24: npm would warn EBADENGINE about
# packages that need 22+; they run on the project's Node 24, the devDependency "node").
npm ci --no-audit --no-fund --no-progress --loglevel=error >"$log" 2>&1 </dev/null || status=$?
trap - INT TERM
stop_progress
if [ "$status" -ne 0 ]; then
  echo "sluice: dependencies: npm ci failed (exit $status); its last lines ($log):" >&2
  tail -n 30 "$log" >&2
  exit "$status"
fi
added=$(sed -n 's/^added \([0-9]*\) packages.*/\1/p' "$log" | tail -n 1)
built=""
if [ -f dist/cli/index.js ]; then built=", built dist/"; fi
echo "$(date -u +%H:%M:%S) sluice: dependencies: npm ci: added ${added:-the} packages$built ($(( $(date +%s) - start )) s; npm's output: $log)"
