#!/usr/bin/env bash
# The quick-start main job, from a fresh clone: installs dependencies (npm ci) when needed, then
# starts local Redis (Debian's redis-server, installed with apt when missing) and a MongoDB
# wire-protocol server (FerretDB, built once through the Go module proxy, on a private PostgreSQL
# cluster, Debian's postgresql installed with apt when missing; unless MONGO_URL or a mongod is given), the Sluice HTTP service and a demo worker, publishes demo jobs over the API,
# and prints the URLs of the API, /metrics and the OpenAPI document with a demo token.
# One line per start-up step with its time (npm ci's own output goes to .sluice/npm-ci.log).
# Ctrl-C stops everything cleanly. SLUICE_PORT picks the port (default 8080, or a free one).
set -euo pipefail
cd "$(dirname "$0")/.."
# npm ci when node_modules is missing or stale: one line with its time; npm's output goes to a log.
bash scripts/npm-ci.sh
export PATH="$PWD/node_modules/.bin:$PATH"
# The Lua scripts' TypeScript module (what `npm run gen` does, without npm's banner or spinner).
tsx scripts/gen-lua.ts
exec node --import tsx src/dev/main.ts
