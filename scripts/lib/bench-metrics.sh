# shellcheck shell=bash
# shellcheck disable=SC2154 # $work, $server, $bench_user…: scripts/bench, which sources this file, sets them
# The metrics goal of scripts/bench (sourced by it; uses its note, free-port, commit-all, ssh-with and fail): the
# same app served through the router at 1000 requests per second (scripts/lib/rate-client.py, open loop), by a
# runner with its metrics on (`--metrics 127.0.0.1:<port>`: the figures, their files and the Prometheus endpoint,
# scraped every second meanwhile) and by one with them off (`--metrics off`), alternating, one runner started
# for each run.
#
#   metrics   the router's p99 latency and the runner's CPU time over the run, on vs off   (p99 +1 ms at most)

# Starts the runner on the bench server's root with metrics $1 (on or off), and waits until the app answers.
start-metrics-runner() {
  local extra=(--metrics off)
  [ "$1" = off ] || extra=(--metrics "127.0.0.1:$metrics_scrape_port")
  "$work/install/bin/slugrunner" watch --root "$server/root" --interval 0.2 --grace 10 \
    --router "127.0.0.1:$metrics_port" "${extra[@]}" >>"$server/metrics-watch.log" 2>&1 &
  metrics_runner_pid=$!
}

# Stops the runner started by start-metrics-runner.
stop-metrics-runner() {
  if [ -n "${metrics_scraper_pid:-}" ]; then
    kill "$metrics_scraper_pid" 2>/dev/null || true
    wait "$metrics_scraper_pid" 2>/dev/null || true
    metrics_scraper_pid=""
  fi
  if [ -n "${metrics_runner_pid:-}" ]; then
    kill -TERM "$metrics_runner_pid" 2>/dev/null || true
    wait "$metrics_runner_pid" 2>/dev/null || true
    metrics_runner_pid=""
  fi
}

# Run $2 of side $1 (ours: metrics on; baseline: off): a runner of its own, 10 seconds of load, the figures noted.
metrics-run() {
  local side="$1" run="$2" mode=off
  [ "$side" = baseline ] || mode=on
  start-metrics-runner "$mode"
  "$work/wait-metrics" "version-0 -" || fail "metrics: the app did not answer through the router" \
    "See $server/metrics-watch.log."
  if [ "$mode" = on ]; then
    (while true; do curl -s -o /dev/null "http://127.0.0.1:$metrics_scrape_port/metrics"; sleep 1; done) &
    metrics_scraper_pid=$!
  fi
  python3 "$repo_dir/scripts/lib/rate-client.py" --router "127.0.0.1:$metrics_port" --host metricsapp.localhost \
    --rate 1000 --seconds 10 --pid "$metrics_runner_pid" >"$work/metrics-run.json"
  python3 - "$work/metrics-run.json" "$side" "$run" >>"$notes" <<'PYTHON'
import json, sys
report, side, run = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
for name in ("p99_ms", "p50_ms", "cpu_s", "failed", "requests"):
    print(f"metrics\t{side}-{name}\t{run}\t{report[name]}")
PYTHON
  stop-metrics-runner
}

bench-metrics() {
  echo "-----> metrics: 1000 requests/s through the router, the runner's metrics on vs off"
  local app="$work/metrics-app" run
  rm -rf "$app"
  mkdir -p "$app"
  git -C "$app" init -q -b main
  cp "$repo_dir/scripts/lib/versioned-server.py" "$app/server.py"
  printf 'web: python3 server.py\n' >"$app/Procfile"
  echo "version-0" >"$app/version.txt"
  commit-all "$app" "version 0"
  metrics_port=$(free-port)
  metrics_scrape_port=$(free-port)
  write-wait-served "$work/wait-metrics" metricsapp.localhost "$metrics_port"
  start-metrics-runner on
  GIT_SSH_COMMAND="$(ssh-with slipway)" git -C "$app" push -q "$bench_user@127.0.0.1:metricsapp" main 2>/dev/null
  "$work/wait-metrics" "version-0 -" || fail "metrics: the app was not served" "See $server/metrics-watch.log."
  stop-metrics-runner
  for run in $(seq "$runs"); do
    if [ $((run % 2)) = 1 ]; then
      metrics-run ours "$run"
      metrics-run baseline "$run"
    else
      metrics-run baseline "$run"
      metrics-run ours "$run"
    fi
  done
}
