#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs dependencies (npm ci), makes sure the local
# services can be started (redis-server from apt, FerretDB built once into a cache outside the
# repo and postgresql from apt for it, unless MONGO_URL or a mongod is given), then type-checks, lints and runs every test tier.
# The services themselves are started and stopped by the test setup (test/global-setup.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
# npm ci when node_modules is missing or stale: one line with its time; npm's output goes to a log.
bash scripts/npm-ci.sh
# Prefer the project's Node 24 (devDependency "node") for every step.
export PATH="$PWD/node_modules/.bin:$PATH"
echo "test: node $(node --version)"
if ! command -v redis-server >/dev/null 2>&1; then
  echo "test: installing redis-server with apt..."
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server
fi
if [ ! -x /usr/bin/chromium ]; then
  # The console's browser tests (test/e2e/console.e2e.spec.ts) drive Debian's chromium.
  echo "test: installing chromium with apt..."
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
if [ -z "${MONGO_URL:-}" ] && ! command -v mongod >/dev/null 2>&1; then
  bash scripts/ensure-ferretdb.sh >/dev/null
  # The embedded server is FerretDB on a private PostgreSQL cluster (src/services/postgres-server.ts).
  if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "test: installing postgresql with apt..."
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
  fi
fi
npm run --silent typecheck
npm run --silent lint
npm run --silent build
mkdir -p .sluice
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.sluice/vitest-report.json "$@" || status=$?
if [ -f .sluice/vitest-report.json ]; then
  node -e 'const r = require("./.sluice/vitest-report.json"); console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));'
fi
echo "test: finished in $(( $(date +%s) - start ))s"
exit "$status"
