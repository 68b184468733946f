# shellcheck shell=bash
# shellcheck disable=SC2154 # $work, $server, $bench_user…: scripts/bench, which sources this file, sets them
# The https goal of scripts/bench (sourced by it; uses its note, commit-all, free-port, fail and ssh-to-door, and the
# router goal's app and wait script): slugrunner watch with its router on HTTP and HTTPS, certificates from a
# private ACME CA on loopback (Debian's pebble, with pebble-challtestsrv answering every name with 127.0.0.1), the
# router goal's app with the domain https.test, and scripts/load-client sending requests one after the other for
# $https_seconds each run: over HTTPS through the router (ours), over plain HTTP through the router, and straight to
# the dyno, alternating.
#
#   https   requests per second and p99 latency over HTTPS through the router  vs  plain HTTP through the router,
#           and the same requests straight to the dyno                                                  (context)

https_seconds=10

# Starts pebble and its DNS on free ports, validating on the router's ports $1 (HTTP) and $2 (HTTPS).
start-pebble() {
  pebble_dir="$work/pebble"
  rm -rf "$pebble_dir"
  mkdir -p "$pebble_dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pebble_dir/key.pem" \
    -out "$pebble_dir/cert.pem" -days 2 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    2>/dev/null
  local acme management dns
  acme=$(free-port)
  management=$(free-port)
  dns=$(free-port)
  pebble_directory="https://127.0.0.1:$acme/dir"
  pebble_roots="https://127.0.0.1:$management/roots/0"
  cat >"$pebble_dir/pebble.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$acme", "managementListenAddress": "127.0.0.1:$management",
 "certificate": "$pebble_dir/cert.pem", "privateKey": "$pebble_dir/key.pem", "httpPort": $1, "tlsPort": $2,
 "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
  pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 "127.0.0.1:$dns" -http01 "" -https01 "" \
    -tlsalpn01 "" -management "127.0.0.1:$(free-port)" >"$pebble_dir/challtestsrv.log" 2>&1 &
  challtestsrv_pid=$!
  PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 pebble -config "$pebble_dir/pebble.json" \
    -dnsserver "127.0.0.1:$dns" >"$pebble_dir/pebble.log" 2>&1 &
  pebble_pid=$!
  local tries=0
  until curl -sf --cacert "$pebble_dir/cert.pem" -o "$pebble_dir/issuing-root.pem" "$pebble_roots"; do
    tries=$((tries + 1))
    [ "$tries" -lt 600 ] || fail "https: pebble did not start" "Its log: $pebble_dir/pebble.log"
    sleep 0.1
  done
}

stop-pebble() {
  local pid
  for pid in "${pebble_pid:-}" "${challtestsrv_pid:-}"; do
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
    [ -z "$pid" ] || wait "$pid" 2>/dev/null || true
  done
  pebble_pid=""
  challtestsrv_pid=""
}

# Starts the runner with HTTP and HTTPS, pushes the router goal's app, gives it https.test and waits until it answers
# over HTTPS.
start-https-app() {
  router_app="$work/router-app"
  if [ ! -d "$router_app/.git" ]; then
    mkdir -p "$router_app"
    git -C "$router_app" init -q -b main
  fi
  cp "$repo_dir/scripts/lib/versioned-server.py" "$router_app/server.py"
  printf 'web: python3 server.py\n' >"$router_app/Procfile"
  echo "version-0" >"$router_app/version.txt"
  echo "https $(date +%s%N)" >"$router_app/started.txt"
  commit-all "$router_app" "version 0"
  router_port=$(free-port)
  https_port=$(free-port)
  start-pebble "$router_port" "$https_port"
  "$work/install/bin/slugrunner" watch --root "$server/root" --interval 0.2 --grace 10 \
    --router "127.0.0.1:$router_port" --router-tls "127.0.0.1:$https_port" --acme-ca "$pebble_directory" \
    --acme-ca-root "$pebble_dir/cert.pem" >"$server/watch.log" 2>&1 &
  # shellcheck disable=SC2034 # stop-router-app (bench-router.sh) stops it
  runner_pid=$!
  write-wait-served "$work/wait-served" routerapp.localhost "$router_port"
  GIT_SSH_COMMAND="$(ssh-with slipway)" git -C "$router_app" push -q "$bench_user@127.0.0.1:routerapp" main 2>/dev/null
  "$work/wait-served" "version-0 -" || fail "https: the app did not answer through the router" "See $server/watch.log."
  ssh-to-door domains:add routerapp https.test >/dev/null
  local tries=0
  until curl -sf --cacert "$pebble_dir/issuing-root.pem" --resolve "https.test:$https_port:127.0.0.1" \
    "https://https.test:$https_port/" >/dev/null; do
    tries=$((tries + 1))
    [ "$tries" -lt 600 ] || fail "https: https.test got no certificate" "See $server/watch.log and $pebble_dir."
    sleep 0.1
  done
  dyno_address=$("$work/install/bin/slugrunner" ps routerapp --root "$server/root" |
    grep -o 'http://[0-9.]*:[0-9]*/' | head -n 1 | sed 's|http://||; s|/$||')
  [ -n "$dyno_address" ] || fail "https: no web dyno address in slugrunner ps" "See $server/watch.log."
}

# One run of $https_seconds of requests: run $1, named $2 (https, http or dyno), then load-client's arguments.
https-load() {
  local run="$1" name="$2"
  shift 2
  python3 "$repo_dir/scripts/load-client" --duration "$https_seconds" "$@" >"$work/https-load.json" \
    2>"$work/https-load.err" || fail "https: the client failed ($name)" "See $work/https-load.err."
  python3 - "$work/https-load.json" "$run" "$name" >>"$notes" <<'PYTHON'
import json, sys
report, run, name = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
if int(run) > 0:
    print(f"https\t{name}-per-second\t{run}\t{report['per_second']}")
    print(f"https\t{name}-p99-ms\t{run}\t{report['p99_ms']}")
    print(f"https\t{name}-failed\t{run}\t{report['failed']}")
PYTHON
}

bench-https() {
  echo "-----> https: requests over HTTPS through the router vs plain HTTP through it, and straight to the dyno"
  local run
  for run in $(seq 0 "$runs"); do
    https-load "$run" https --router "127.0.0.1:$https_port" --host https.test --https \
      --cacert "$pebble_dir/issuing-root.pem"
    https-load "$run" http --router "127.0.0.1:$router_port" --host routerapp.localhost
    https-load "$run" dyno --router "$dyno_address" --host routerapp.localhost
  done
}

stop-https-app() {
  stop-router-app
  stop-pebble
}
