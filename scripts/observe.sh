#!/usr/bin/env bash
# A local observability stack for the quick start, in one command. With `bash scripts/start.sh`
# running in another terminal:
#   bash scripts/observe.sh
# starts Debian's Prometheus (installed with apt when missing) scraping the demo's service
# (`/metrics`, with the demo token) and worker (`--worker-metrics-port`), with Sluice's alert
# rules (grafana/alerts/sluice-rules.yml) loaded, and prints how to point a Grafana at it and
# import the dashboards. Its configuration is the one the quick start wrote for its current run
# (.sluice/demo/prometheus.yml): restart this script after restarting the demo. Ctrl-C stops it;
# its data lives in a temporary folder, deleted on exit.
#   PROMETHEUS_PORT  where Prometheus listens (default 9090, or a free port when 9090 is taken)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
config=.sluice/demo/prometheus.yml
if [ ! -f "$config" ]; then
  echo "observe: no $config: start the quick start first (bash scripts/start.sh) and wait for its banner" >&2
  exit 1
fi
if ! command -v prometheus >/dev/null 2>&1; then
  echo "observe: installing Debian's prometheus with apt (its system service is not started)..."
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && own_policy=1; fi
  status=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } || status=$?
  [ -n "$own_policy" ] && rm -f "$policy"
  [ "$status" -eq 0 ] || { echo "observe: apt-get install prometheus failed" >&2; exit 1; }
fi
export PATH="$root/node_modules/.bin:$PATH"
port="${PROMETHEUS_PORT:-9090}"
if ! node -e "const s=require('net').createServer();s.once('error',()=>process.exit(1));s.listen($port,'127.0.0.1',()=>s.close())"; then
  [ -n "${PROMETHEUS_PORT:-}" ] && { echo "observe: port $port is taken" >&2; exit 1; }
  port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
fi
data=$(mktemp -d -t sluice-prometheus-XXXXXX)
trap 'rm -rf "$data"' EXIT
url="http://127.0.0.1:$port"
cat <<EOF
observe: Prometheus at $url, scraping the demo every 5 s ($config), alert rules loaded.
  Targets   $url/targets   (both should be UP within a few seconds)
  Alerts    $url/alerts
  Query     $url/graph?g0.expr=sum%20by%20(queue)(rate(sluice_jobs_completed_total%5B1m%5D))

Grafana: add a Prometheus data source with URL $url (Connections > Data sources), then
import grafana/dashboards/sluice-overview.json and sluice-queue.json (Dashboards > New > Import)
and pick that data source. Or provision both: copy grafana/provisioning/ into Grafana's
provisioning folder with PROMETHEUS_URL=$url in Grafana's environment (see grafana/README.md).
Ctrl-C stops Prometheus.
EOF
prometheus --config.file="$config" --storage.tsdb.path="$data" --web.listen-address="127.0.0.1:$port" --log.level=warn
