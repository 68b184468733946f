# shellcheck shell=bash
# shellcheck disable=SC2154 # $work, $server, $bench_user…: scripts/bench, which sources this file, sets them
# The drains goal of scripts/bench (sourced by it; uses its note, fail, commit-all, ssh-with and free-port): an app
# whose web dyno prints 10,000 lines a second, run by slugrunner watch (--log-rate 20000, so that no line is dropped
# before the drains) for $drain_seconds seconds twice: with two drains attached (rsyslogd over TLS with a CA made
# here, and a second rsyslogd over plain TCP, both on loopback) and with none. Each side notes the runner's CPU (its
# user and system time over the window, in % of one CPU), its resident memory at the end (KiB), and the lines the
# drains received.
#
#   drains  the runner's CPU and memory with two drains vs without   (context: what drains cost)

drain_seconds=20

# Starts rsyslogd number $1 in $2 on a free port (TLS with the bench's CA when $3 is tls); sets rsyslog_port.
start-bench-rsyslog() {
  local dir="$2/rsyslog-$1" tls="$3"
  mkdir -p "$dir/work"
  rsyslog_port=$(free-port)
  if [ "$tls" = tls ]; then
    cat >"$dir/rsyslog.conf" <<CONF
global(workDirectory="$dir/work" defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile="$2/ca.pem"
       defaultNetstreamDriverCertFile="$2/server.pem" defaultNetstreamDriverKeyFile="$2/server.key")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
CONF
  else
    printf 'global(workDirectory="%s/work")\nmodule(load="imtcp")\n' "$dir" >"$dir/rsyslog.conf"
  fi
  cat >>"$dir/rsyslog.conf" <<CONF
ruleset(name="drain") { action(type="omfile" file="$dir/received.log") }
input(type="imtcp" port="$rsyslog_port" address="127.0.0.1" ruleset="drain")
CONF
  setsid rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" >"$dir/out.log" 2>&1 &
  rsyslog_pids+=("$!")
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$rsyslog_port") 2>/dev/null && return 0; sleep 0.1; done
  fail "drains: rsyslogd did not start" "Its output: $dir/out.log"
}

# The CA and localhost certificate the TLS rsyslogd presents, in $1.
make-bench-certificates() {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1/ca.key" -out "$1/ca.pem" -days 2 -subj "/CN=bench CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$1/server.key" -out "$1/server.csr" -subj /CN=localhost 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$1/server.ext"
  openssl x509 -req -in "$1/server.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" -CAcreateserial -out "$1/server.pem" \
    -days 2 -extfile "$1/server.ext" 2>/dev/null
}

# User plus system time of process $1, in clock ticks.
cpu-ticks() {
  awk '{print $14 + $15}' "/proc/$1/stat"
}

# One side ($1: ours with two drains, baseline without): the runner runs the loud app for $drain_seconds seconds.
drains-side() {
  local side="$1" dir="$work/drains" drains=() start end ticks rss log
  if [ "$side" = ours ]; then
    start-bench-rsyslog 1 "$dir" tls
    drains+=(--drain "syslog+tls://localhost:$rsyslog_port" --drain-ca "$dir/ca.pem")
    start-bench-rsyslog 2 "$dir" plain
    drains+=(--drain "syslog://127.0.0.1:$rsyslog_port")
  fi
  "$work/install/bin/slugrunner" watch --root "$server/root" --interval 0.2 --grace 5 --router none \
    --log-rate 20000 --log-max-size 1000 "${drains[@]}" >"$dir/watch-$side.log" 2>&1 &
  runner_pid=$!
  log="$server/root/logs/drainapp.log"
  # Up once it prints: its lines reach the app's log.
  for _ in $(seq 600); do grep -q "app\[web.1\]: loud" "$log" 2>/dev/null && break; sleep 0.1; done
  grep -q "app\[web.1\]: loud" "$log" || fail "drains: the loud app did not start" "See $dir/watch-$side.log."
  start=$(cpu-ticks "$runner_pid")
  sleep "$drain_seconds"
  end=$(cpu-ticks "$runner_pid")
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$runner_pid/status")
  ticks=$(getconf CLK_TCK)
  note drains "$side-cpu-percent" 1 "$(python3 -c "print(round(($end - $start) / $ticks / $drain_seconds * 100, 1))")"
  note drains "$side-rss-kib" 1 "$rss"
  kill -TERM "$runner_pid"
  wait "$runner_pid" || true
  runner_pid=""
  note drains "$side-log-lines" 1 "$(cat "$log"* | wc -l)"
  if [ "$side" = ours ]; then
    local pid
    for pid in "${rsyslog_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rsyslog_pids=()
    note drains received-tls-lines 1 "$(wc -l <"$dir/rsyslog-1/received.log")"
    note drains received-tcp-lines 1 "$(wc -l <"$dir/rsyslog-2/received.log")"
    note drains l10-lines 1 "$(cat "$log"* | grep -c 'Error L10' || true)"
  fi
  rm -f "$server/root/logs/drainapp.log"*
}

bench-drains() {
  echo "-----> drains: the runner's CPU and memory, a dyno printing 10,000 lines a second, two drains vs none"
  local dir="$work/drains" app="$work/drains-app"
  rm -rf "$dir" "$app"
  mkdir -p "$dir" "$app"
  rsyslog_pids=()
  make-bench-certificates "$dir"
  cat >"$app/loud.py" <<'PYTHON'
import http.server, os, sys, threading, time
server = http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), http.server.SimpleHTTPRequestHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
# 10,000 lines a second: 100 every 10 ms, each about 120 bytes.
n, start = 0, time.monotonic()
while True:
    sys.stdout.write("".join(f"loud line {n + i} " + "x" * 100 + "\n" for i in range(100)))
    sys.stdout.flush()
    n += 100
    time.sleep(max(0, start + n / 10000 - time.monotonic()))
PYTHON
  printf 'web: python3 -u loud.py\n' >"$app/Procfile"
  git -C "$app" init -q -b main
  commit-all "$app" "loud app"
  GIT_SSH_COMMAND="$(ssh-with slipway)" git -C "$app" push -q "$bench_user@127.0.0.1:drainapp" main 2>/dev/null
  drains-side baseline
  drains-side ours
}
