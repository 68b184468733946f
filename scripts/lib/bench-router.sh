# shellcheck shell=bash
# shellcheck disable=SC2154 # $work, $server, $bench_user…: scripts/bench, which sources this file, sets them
# The router goal of scripts/bench (sourced by it; uses its measure, note, alternate, commit-all and ssh-with):
# slugrunner watch with its router (Caddy) on the bench server's root, a small Procfile app that answers with its
# version, and a client sending requests through the router without pause, never sending one again
# (scripts/load-client --no-resend), during every deploy of the goal: the timed pushes, then three config changes
# and a rollback.
#
#   router       push to the new version served through the router  vs  plain git push, same sshd   (<= 0.30 s)
#   router-host  the same with the runner's --dyno-network host (dynos on the host's network), so that the cost of
#                a network per dyno shows beside it, in the same run                                  (context)
#   zero         failed requests during the router goal's deploys                                     (0)

# Starts the runner with its router on a free port (dynos networked as $1: auto or host), pushes the app's first
# version and starts the client.
start-router-app() {
  local network="${1:-auto}"
  router_app="$work/router-app"
  if [ ! -d "$router_app/.git" ]; then
    mkdir -p "$router_app"
    git -C "$router_app" init -q -b main
  fi
  cp "$repo_dir/scripts/lib/versioned-server.py" "$router_app/server.py"
  printf 'web: python3 server.py\n' >"$router_app/Procfile"
  # A new commit each time: the app's first version again, deployed by the runner just started.
  echo "version-0" >"$router_app/version.txt"
  echo "$network $(date +%s%N)" >"$router_app/started.txt"
  commit-all "$router_app" "version 0"
  router_port=$(free-port)
  "$work/install/bin/slugrunner" watch --root "$server/root" --interval 0.2 --grace 10 \
    --router "127.0.0.1:$router_port" --dyno-network "$network" >"$server/watch.log" 2>&1 &
  runner_pid=$!
  write-wait-served "$work/wait-served" routerapp.localhost "$router_port"
  GIT_SSH_COMMAND="$(ssh-with slipway)" git -C "$router_app" push -q "$bench_user@127.0.0.1:routerapp" main 2>/dev/null
  "$work/wait-served" "version-0 -" || fail "router: the app did not answer through the router" "See $server/watch.log."
  python3 "$repo_dir/scripts/load-client" --router "127.0.0.1:$router_port" --host routerapp.localhost --no-resend \
    >"$work/load.json" 2>"$work/load.err" &
  load_pid=$!
}

# Writes the script $1 that waits (up to 2 minutes) until the router on port $3 answers its argument for host $2:
# a script, since measure runs commands. It asks every 2 ms through bash's own /dev/tcp and reads the answer with
# read: no process is started per try, so that the wait adds little to what it measures.
write-wait-served() {
  cat >"$1" <<SCRIPT
#!/usr/bin/env bash
exec 4<> <(:)  # a pipe nobody writes to: read -t on it is a sleep without a process
deadline=\$((SECONDS + 120))
while [ "\$SECONDS" -lt "\$deadline" ]; do
  body=""
  if exec 3<>/dev/tcp/127.0.0.1/$3; then
    printf 'GET / HTTP/1.1\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n' "$2" >&3
    # The body is one line, the last one; headers end in CR.
    while IFS= read -r -t 5 line <&3; do body=\$line; done
    exec 3<&-
    [ "\$body" = "\$1" ] && exit 0
  fi 2>/dev/null
  read -r -t 0.002 -u 4 || true
done
exit 1
SCRIPT
  chmod +x "$1"
}

# One new version of app folder $2, committed before run $1's pair.
commit-version() {
  echo "version-$((100 + $1))" >"$2/version.txt"
  commit-all "$2" "version $((100 + $1))"
}

# Run $1 of goal $2, ours: pushes app folder $3 with key $4 to $5, then runs the wait script $6 until the router serves
# the run's version.
push-then-served() {
  # shellcheck disable=SC2016 # in bash -c '…', $1 to $4 are the inner shell's arguments
  GIT_SSH_COMMAND="$(ssh-with "$4")" measure "$2" ours "$1" \
    bash -c 'git -C "$1" push -q "$2" main && "$3" "$4"' bash "$3" "$5" "$6" "version-$((100 + $1)) -"
}

# Run $1 of goal $2, the baseline: the same commit of app folder $3 pushed to the bare repository $4.
plain-push() {
  GIT_SSH_COMMAND="$(ssh-with plain)" measure "$2" baseline "$1" git -C "$3" push -q "$bench_user@127.0.0.1:$4" main
}

router-commit() { commit-version "$1" "$router_app"; }
router-ours() {
  push-then-served "$1" "$router_goal" "$router_app" slipway "$bench_user@127.0.0.1:routerapp" "$work/wait-served"
}
router-baseline() { plain-push "$1" "$router_goal" "$router_app" "$server/router-plain.git"; }

# The router-host goal: the timed pushes only, with the dynos on the host's network.
bench-router-host() {
  echo "-----> router-host: the same, the runner started with --dyno-network host"
  router_goal=router-host
  runuser -u "$bench_user" -- git init -q --bare "$server/router-plain.git"
  alternate router-host router-ours router-baseline router-commit
  rm -rf "$server/router-plain.git"
}

bench-router() {
  echo "-----> router: push to the new version served through the router vs plain git push; requests during deploys"
  router_goal=router
  runuser -u "$bench_user" -- git init -q --bare "$server/router-plain.git"
  alternate router router-ours router-baseline router-commit
  local deploys=$((runs + 1)) mark last="version-$((100 + runs))"
  for mark in a b c; do
    ssh-to-door config:set routerapp "MARK=$mark" >/dev/null
    "$work/wait-served" "$last $mark" || fail "router: config:set MARK=$mark was not served" "See $server/watch.log."
    deploys=$((deploys + 1))
  done
  ssh-to-door rollback routerapp v1 >/dev/null
  "$work/wait-served" "version-0 -" || fail "router: the rollback to v1 was not served" "See $server/watch.log."
  deploys=$((deploys + 1))
  kill -TERM "$load_pid"
  wait "$load_pid" || true
  python3 - "$work/load.json" "$deploys" >>"$notes" <<'PYTHON'
import json, sys
report = json.load(open(sys.argv[1]))
for name in ("requests", "failed", "p50_ms", "p99_ms", "stale_connections"):
    print(f"zero\t{name}\t1\t{report[name]}")
print(f"zero\tdeploys\t1\t{sys.argv[2]}")
PYTHON
}

# A management command over the bench server's door.
ssh-to-door() {
  # shellcheck disable=SC2046,SC2029 # ssh-with prints separate words; the command is the door's, on purpose
  ssh $(ssh-with slipway | cut -d' ' -f2-) "$bench_user@127.0.0.1" "$@"
}

# Stops the runner (and with it the app and the router) and the client, if they run.
stop-router-app() {
  [ -z "${load_pid:-}" ] || kill -TERM "$load_pid" 2>/dev/null || true
  if [ -n "${runner_pid:-}" ]; then
    kill -TERM "$runner_pid" 2>/dev/null || true
    wait "$runner_pid" 2>/dev/null || true
    runner_pid=""
  fi
}
