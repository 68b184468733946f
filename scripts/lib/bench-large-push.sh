# shellcheck shell=bash
# shellcheck disable=SC2154 # $work, $server, $bench_user…: scripts/bench, which sources this file, sets them
# The large-push goal of scripts/bench (sourced by it; uses its measure, note, alternate, commit-all, free-port and
# ssh-with): the same commit, which adds 50 MiB of incompressible data, pushed to one app through the built-in SSH
# server (receive-pack serve, on the bench server's root) and to another through OpenSSH's forced command (the
# bench's sshd, same root). Both pushes build and release; the difference is the door.
#
#   large-push   50 MiB push over receive-pack serve  vs  the same push over OpenSSH   (ratio <= 2; serve's peak RSS)

large_push_mb=50

# Starts receive-pack serve as the bench user on a free loopback port, on the same root as the sshd's forced command.
start-builtin-server() {
  serve_port=$(free-port)
  runuser -u "$bench_user" -- "$work/install/bin/receive-pack" serve --root "$server/root" \
    --listen "127.0.0.1:$serve_port" >"$server/serve.out" 2>"$server/serve.log" &
  serve_pid=$!
  local tries=0
  until grep -q ' listening on ' "$server/serve.out" 2>/dev/null; do
    tries=$((tries + 1))
    [ "$tries" -lt 200 ] || fail "receive-pack serve did not start; its log: $server/serve.log"
    sleep 0.05
  done
  # runuser stays the parent: the server is its child.
  serve_server_pid=$(pgrep -P "$serve_pid" -f 'receive-pack serve')
}

stop-builtin-server() {
  if [ -n "${serve_pid:-}" ]; then
    kill "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
    serve_pid=""
  fi
}

bench-large-push() {
  echo "-----> large-push: a ${large_push_mb} MiB push over receive-pack serve vs the same push over OpenSSH"
  large_app="$work/large-app"
  rm -rf "$large_app"
  mkdir -p "$large_app"
  # shellcheck disable=SC2016 # $PORT is for the app, at run time
  printf 'web: python3 -m http.server $PORT\n' >"$large_app/Procfile"
  git -C "$large_app" init -q -b main
  commit-all "$large_app" "Procfile app"
  start-builtin-server
  GIT_SSH_COMMAND="$(ssh-with slipway)" git -C "$large_app" push -q "$bench_user@127.0.0.1:largessh" main 2>/dev/null
  GIT_SSH_COMMAND="$(serve-ssh)" git -C "$large_app" push -q "git@127.0.0.1:largeserve" main 2>/dev/null
  alternate large-push large-push-ours large-push-baseline large-push-commit
  # The serve process's peak memory over every push: what the server holds does not grow with the push.
  note large-push serve-peak-kib 1 "$(awk '/^VmHWM:/ { print $2 }' "/proc/$serve_server_pid/status")"
  stop-builtin-server
  rm -rf "$large_app"
}

# The ssh command git uses for the built-in server (the Slipway key; the server's host key is new each run).
serve-ssh() {
  ssh-with slipway | sed "s/-p $port /-p $serve_port /"
}

# A new commit before each run's pair: the data file replaced by $large_push_mb MiB of new random bytes.
large-push-commit() {
  head -c "$((large_push_mb * 1024 * 1024))" /dev/urandom >"$large_app/vendor.bin"
  commit-all "$large_app" "run $1"
}

large-push-ours() {
  GIT_SSH_COMMAND="$(serve-ssh)" measure large-push ours "$1" git -C "$large_app" push -q "git@127.0.0.1:largeserve" main
}

large-push-baseline() {
  GIT_SSH_COMMAND="$(ssh-with slipway)" measure large-push baseline "$1" \
    git -C "$large_app" push -q "$bench_user@127.0.0.1:largessh" main
}
