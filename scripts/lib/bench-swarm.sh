# shellcheck shell=bash
# shellcheck disable=SC2154 # $work, $server, $bench_user…: scripts/bench, which sources this file, sets them
# The swarm goal of scripts/bench (sourced by it; uses its measure, alternate, commit-all, ssh-with and the router
# goal's wait-served pattern): slugrunner watch --engine swarm on a two-node Docker Swarm made here (a bridge and two
# network namespaces, each with its own dockerd, as the tests' PrivateSwarm), releases through a bucket (SeaweedFS on
# the bridge, which the tasks on both nodes fetch their slugs from), and a door of its own on that bucket.
#
#   swarm    push to the new version served on the swarm, through the router  vs  plain git push   (context)

# Sets up the swarm, the bucket, the door and the runner, and pushes the app's first version.
start-swarm-app() {
  local number=$((RANDOM % 200 + 20)) node dir ip_
  while ip link show "slwbr$number" >/dev/null 2>&1; do number=$((number + 1)); done
  swarm_dir="$work/swarm"
  swarm_bridge="slwbr$number"
  swarm_host="10.213.$number.1"
  rm -rf "$swarm_dir"
  mkdir -p "$swarm_dir"
  ip link add "$swarm_bridge" type bridge
  ip addr add "$swarm_host/24" dev "$swarm_bridge"
  ip link set "$swarm_bridge" up
  for node in 1 2; do
    dir="$swarm_dir/node$node"
    ip_="10.213.$number.1$node"
    mkdir -p "$dir"
    touch "$dir/netns"
    unshare --net="$dir/netns" true
    ip link add "slw${number}v$node" type veth peer name eth0 netns "$dir/netns"
    ip link set "slw${number}v$node" master "$swarm_bridge" up
    nsenter --net="$dir/netns" ip link set lo up
    nsenter --net="$dir/netns" ip addr add "$ip_/24" dev eth0
    nsenter --net="$dir/netns" ip link set eth0 up
    nsenter --net="$dir/netns" ip route add default via "$swarm_host"
    # shellcheck disable=SC2016 # $0 and $@ are the inner shell's
    setsid nsenter --net="$dir/netns" unshare --uts sh -c 'hostname "$0" && exec "$@"' "node$node" dockerd \
      --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" -H "unix://$dir/docker.sock" \
      >"$dir/dockerd.log" 2>&1 &
    echo "$!" >"$dir/session.pid"
  done
  for node in 1 2; do
    wait-for "dockerd of node$node" curl -sf --unix-socket "$swarm_dir/node$node/docker.sock" http://docker/_ping
  done
  swarm-api 1 POST /swarm/init "{\"ListenAddr\":\"10.213.$number.11:2377\",\"AdvertiseAddr\":\"10.213.$number.11\"}"
  local token
  token=$(swarm-api 1 GET /swarm | python3 -c 'import json, sys; print(json.load(sys.stdin)["JoinTokens"]["Worker"])')
  swarm-api 2 POST /swarm/join "{\"ListenAddr\":\"10.213.$number.12:2377\",\"AdvertiseAddr\":\"10.213.$number.12\",
    \"RemoteAddrs\":[\"10.213.$number.11:2377\"],\"JoinToken\":\"$token\"}"
  "$repo_dir/stack/build" --load "unix://$swarm_dir/node1/docker.sock" --load "unix://$swarm_dir/node2/docker.sock" \
    >"$swarm_dir/stack.log" 2>&1 || fail "swarm: stack/build failed" "Its output: $swarm_dir/stack.log"

  # The bucket, where the door publishes and every node's tasks fetch.
  mkdir -p "$swarm_dir/weed"
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret start-weed "$swarm_dir/weed" "$swarm_host" \
    "$swarm_dir/weed.log" -s3.autoCreateBucket=false -bucket=spool
  swarm_weed_pid=$weed_pid
  swarm_s3=$weed_s3
  # The door: its own root on the bucket, and its own key (sshd lists the root's keys after the bench root's).
  local root="$server/swarm-root"
  runuser -u "$bench_user" -- "$work/install/bin/receive-pack" init --root "$root" >/dev/null
  printf 'AWS_ACCESS_KEY_ID=bench\nAWS_SECRET_ACCESS_KEY=bench-secret\n' >"$swarm_dir/s3-credentials"
  install -o "$bench_user" -m 0600 "$swarm_dir/s3-credentials" "$root/s3-credentials"
  # weed mini makes the bucket a moment after S3 listens: init checks it, so it is tried until it is there.
  wait-for "the bucket" runuser -u "$bench_user" -- "$work/install/bin/receive-pack" init --root "$root" \
    --spool s3://spool/slipway --s3-endpoint "$swarm_s3" --s3-path-style
  runuser -u "$bench_user" -- "$work/install/bin/receive-pack" keys add --root "$root" bench - \
    <"$server/keys/swarm.pub" >/dev/null

  swarm_app="$work/swarm-app"
  rm -rf "$swarm_app"
  mkdir -p "$swarm_app"
  cp "$repo_dir/scripts/lib/versioned-server.py" "$swarm_app/server.py"
  printf 'web: BIND_ADDRESS=0.0.0.0 python3 server.py\n' >"$swarm_app/Procfile"
  echo "version-0" >"$swarm_app/version.txt"
  git -C "$swarm_app" init -q -b main
  commit-all "$swarm_app" "version 0"
  swarm_port=$(free-port)
  "$work/install/bin/slugrunner" watch --root "$root" --engine swarm \
    --docker-host "unix://$swarm_dir/node1/docker.sock" --spool s3://spool/slipway --s3-endpoint "$swarm_s3" \
    --s3-path-style --interval 0.2 --grace 10 --router "127.0.0.1:$swarm_port" >"$swarm_dir/watch.log" 2>&1 &
  swarm_runner_pid=$!
  write-wait-served "$work/wait-served-swarm" swarmapp.localhost "$swarm_port"
  GIT_SSH_COMMAND="$(ssh-with swarm)" git -C "$swarm_app" push -q "$bench_user@127.0.0.1:swarmapp" main 2>/dev/null
  "$work/wait-served-swarm" "version-0 -" ||
    fail "swarm: the app did not answer through the router" "See $swarm_dir/watch.log."
}

# An Engine API call to node $1: method $2, path $3, JSON body $4.
swarm-api() {
  curl -sf --unix-socket "$swarm_dir/node$1/docker.sock" -X "$2" -H 'Content-Type: application/json' \
    ${4:+--data "$4"} "http://docker/v1.41$3"
}

# Runs the command until it succeeds, up to a minute; fails the bench naming $1 otherwise.
wait-for() {
  local what="$1" tries=0
  shift
  until "$@" >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 600 ] || fail "swarm: $what never answered" "See $swarm_dir."
    sleep 0.1
  done
}

swarm-commit() { commit-version "$1" "$swarm_app"; }
swarm-ours() {
  push-then-served "$1" swarm "$swarm_app" swarm "$bench_user@127.0.0.1:swarmapp" "$work/wait-served-swarm"
}
swarm-baseline() { plain-push "$1" swarm "$swarm_app" "$server/swarm-plain.git"; }

bench-swarm() {
  echo "-----> swarm: push to the new version served on a two-node swarm vs plain git push"
  runuser -u "$bench_user" -- git init -q --bare "$server/swarm-plain.git"
  alternate swarm swarm-ours swarm-baseline swarm-commit
}

# Stops the runner (the services stay: the daemons stop them), both daemons, the bucket, and removes the network.
stop-swarm-app() {
  [ -n "${swarm_dir:-}" ] || return 0
  if [ -n "${swarm_runner_pid:-}" ]; then
    kill -TERM "$swarm_runner_pid" 2>/dev/null || true
    wait "$swarm_runner_pid" 2>/dev/null || true
  fi
  local node pid
  for node in 1 2; do
    if pid=$(cat "$swarm_dir/node$node/dockerd.pid" 2>/dev/null); then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for node in 1 2; do
    pid=$(cat "$swarm_dir/node$node/session.pid" 2>/dev/null) || continue
    for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    umount --lazy "$swarm_dir/node$node/netns" 2>/dev/null || true
  done
  [ -z "${swarm_weed_pid:-}" ] || stop-weed "$swarm_weed_pid"
  ip link del "$swarm_bridge" 2>/dev/null || true
  for node in 1 2; do ip link del "${swarm_bridge/br/}v$node" 2>/dev/null || true; done
  swarm_dir=""
}
