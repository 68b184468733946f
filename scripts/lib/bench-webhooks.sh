# shellcheck shell=bash
# shellcheck disable=SC2154 # $work, $server, $bench_user…: scripts/bench, which sources this file, sets them
# The webhooks goal of scripts/bench (sourced by it; uses its measure, alternate, commit-all, free-port, fail and
# ssh-with): the Procfile-only app pushed to an app with two webhooks of builds and releases (six deliveries a push),
# one receiver answering at once and one that never answers, vs the same push to an app without webhooks, over the
# same sshd. The deliveries are queued by the push and sent by a detached deliverer: the push must not wait for it.
#
#   webhooks   push to an app with two webhooks, one hanging  vs  the same push, no webhooks   (difference <= 0.05 s)

# Starts a webhook receiver on a free loopback port: python3's http.server answering 204, or (with $1 = hang)
# never answering. Prints its port; its pid goes to $work/receiver-<port>.pid.
start-webhook-receiver() {
  local mode="$1" port
  port=$(free-port)
  python3 - "$port" "$mode" >/dev/null 2>&1 <<'PYTHON' &
import http.server, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        while mode == "hang":
            time.sleep(3600)
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
PYTHON
  echo $! >"$work/receiver-$port.pid"
  local tries=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || fail "webhooks: the test receiver did not start"
    sleep 0.05
  done
  echo "$port"
}

# Stops the receivers start-webhook-receiver started (by their pids).
stop-webhook-receivers() {
  local pidfile
  for pidfile in "$work"/receiver-*.pid; do
    [ -e "$pidfile" ] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

# Runs receive-pack command $@ as the bench user on the bench server's root, allowing loopback receivers.
bench-receive-pack() {
  runuser -u "$bench_user" -- env SLIPWAY_WEBHOOK_ALLOW_PRIVATE=1 "$work/install/bin/receive-pack" "$@" \
    --root "$server/root" >/dev/null
}

bench-webhooks() {
  echo "-----> webhooks: push to an app with two webhooks (one receiver hanging) vs the same push without"
  hook_app="$work/hook-app"
  rm -rf "$hook_app"
  mkdir -p "$hook_app"
  # shellcheck disable=SC2016 # $PORT is for the app, at run time
  printf 'web: python3 -m http.server $PORT\n' >"$hook_app/Procfile"
  git -C "$hook_app" init -q -b main
  commit-all "$hook_app" "Procfile app"
  local quick hanging
  quick=$(start-webhook-receiver answer)
  hanging=$(start-webhook-receiver hang)
  bench-receive-pack apps create hooked --owner bench
  bench-receive-pack webhooks:add hooked "http://127.0.0.1:$quick/hook"
  bench-receive-pack webhooks:add hooked "http://127.0.0.1:$hanging/hook"
  GIT_SSH_COMMAND="$(ssh-with slipway)" git -C "$hook_app" push -q "$bench_user@127.0.0.1:hooked" main 2>/dev/null
  GIT_SSH_COMMAND="$(ssh-with slipway)" git -C "$hook_app" push -q "$bench_user@127.0.0.1:unhooked" main 2>/dev/null
  alternate webhooks webhooks-ours webhooks-baseline webhooks-commit
  # The deliveries are queued (the hanging receiver holds the deliverer): drop them with the webhooks, stop the
  # receivers, and wait for the deliverer to leave.
  [ -n "$(find "$server/root/app-webhooks/queue" -name '*.json' 2>/dev/null | head -n 1)" ] ||
    fail "webhooks: no delivery was queued" "See $server/root for what happened."
  local id
  for id in $(python3 -c 'import json, sys; print(" ".join(h["id"] for h in json.load(open(sys.argv[1]))))' \
    "$server/root/apps/hooked/app-webhooks.json"); do
    bench-receive-pack webhooks:remove hooked "$id"
  done
  stop-webhook-receivers
  for _ in $(seq 300); do
    flock -n "$server/root/run/app-webhooks.lock" true 2>/dev/null && break
    sleep 0.1
  done
  rm -rf "$hook_app"
}

# One new commit before each run's pair.
webhooks-commit() {
  echo "$1" >"$hook_app/run"
  commit-all "$hook_app" "run $1"
}

webhooks-ours() {
  GIT_SSH_COMMAND="$(ssh-with slipway)" measure webhooks ours "$1" git -C "$hook_app" push -q "$bench_user@127.0.0.1:hooked" main
}

webhooks-baseline() {
  GIT_SSH_COMMAND="$(ssh-with slipway)" measure webhooks baseline "$1" \
    git -C "$hook_app" push -q "$bench_user@127.0.0.1:unhooked" main
}
