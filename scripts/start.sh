#!/usr/bin/env bash
# The quick-start main job, from a fresh clone: installs dependencies (npm ci) when needed, then
# starts local Redis (Debian's redis-server, installed with apt when missing) and a MongoDB
# wire-protocol server (FerretDB, built once through the Go module proxy, on a private PostgreSQL
# cluster, Debian's postgresql installed with apt when missing; unless MONGO_URL or a mongod is given), the Sluice HTTP service and a demo worker, publishes demo jobs over the API,
# and prints the URLs of the API, /metrics and the OpenAPI document with a demo token.
# Ctrl-C stops everything cleanly. SLUICE_PORT picks the port (default 8080, or a free one).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm runs on the machine's Node and would warn (EBADENGINE) about packages that need 22+;
  # they run on the project's Node 24 (below). npm ci also builds dist/ (prepare).
  echo "start: installing dependencies (npm ci)..."
  npm ci --no-audit --no-fund --loglevel=error
fi
export PATH="$PWD/node_modules/.bin:$PATH"
npm run --silent gen
exec node --import tsx src/dev/main.ts
