#!/usr/bin/env bash
# The quick-start main job, from a fresh clone: installs dependencies (npm ci) when needed, then
# starts local Redis and a MongoDB wire-protocol server (FerretDB is built once through the Go
# module proxy unless MONGO_URL or a mongod is given) and runs the demo until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
export PATH="$PWD/node_modules/.bin:$PATH"
npm run --silent gen
exec node --import tsx src/main.ts
