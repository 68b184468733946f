# shellcheck shell=bash
# shellcheck disable=SC2154 # $work, $server, $bench_user…: scripts/bench, which sources this file, sets them
# The addons goal of scripts/bench (sourced by it; uses its measure, alternate and fail): the time of
# `receive-pack addons:create <app> postgresql` on the server (the operator's form of the SSH command: a record, a
# role with a random password, a database closed to every other role, the config var and a release), against the
# same role and database made with psql alone on the same cluster. For context, not measured here: Heroku's
# addons:create heroku-postgresql takes minutes, Dokku's postgres:create tens of seconds (a container each).
#
#   addons   addons:create postgresql  vs  CREATE ROLE + CREATE DATABASE through psql alone, same cluster

# A root of its own at $1 with one app, benchapp, and its first PostgreSQL add-on, which makes the cluster (initdb,
# certificate, first start); $2 names the goal in a failure, the other arguments go to addons:create. Shared with the
# backups goal.
make-postgres-root() {
  local root="$1" goal="$2"
  shift 2
  stop-postgres-root "$root"
  rm -rf "$root"
  "$work/install/bin/receive-pack" init --root "$root" >/dev/null
  chmod 0711 "$work" "$root"
  "$work/install/bin/receive-pack" apps create benchapp --owner bench --root "$root" >/dev/null
  "$work/install/bin/receive-pack" addons:create benchapp postgresql "$@" --root "$root" >/dev/null 2>&1 ||
    fail "addons:create failed in the $goal goal" "Run it by hand on $root to see why."
}

# Stops the cluster of the root $1, if it runs (as its user: Debian's postgres, since the bench runs as root).
stop-postgres-root() {
  local data="$1/addons/postgresql/data"
  if [ -n "$1" ] && [ -f "$data/postmaster.pid" ]; then
    runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl stop -D "$data" -m fast -s >/dev/null 2>&1 || true
  fi
}

# The port of the cluster of the root $1.
postgres-port() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$1/addons/postgresql.json"
}

# psql on the socket of the cluster of the root $1 as its administrator; the other arguments are psql's.
postgres-admin() {
  local root="$1" port
  shift
  port=$(postgres-port "$root")
  runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 \
    -h "$root/addons/postgresql/socket" -p "$port" "$@"
}

# A root of its own with one app, and a first add-on that makes the cluster before any run: run 0, the warm-up,
# starts with the baseline, which needs the cluster.
start-addons-root() {
  addons_root="$work/addons-root"
  make-postgres-root "$addons_root" addons --as CLUSTER
}

# Stops the goal's cluster (scripts/bench's exit trap calls it too).
stop-addons-root() {
  stop-postgres-root "${addons_root:-}"
}

# Runs SQL on the cluster's socket as its administrator, in its postgres database.
addons-admin() {
  postgres-admin "$addons_root" -d postgres "$@"
}

addons-ours() {
  measure addons ours "$1" "$work/install/bin/receive-pack" addons:create benchapp postgresql --as "BENCH$1" \
    --root "$addons_root"
}

addons-baseline() {
  local id="bench_baseline_$1" password
  password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  # shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
  measure addons baseline "$1" bash -c "$(declare -f postgres-port postgres-admin addons-admin); addons_root=\"\$1\"; addons-admin -c \"\$2\" && \
    addons-admin -c \"CREATE DATABASE $id OWNER $id\" && addons-admin -c \"REVOKE ALL ON DATABASE $id FROM PUBLIC\"" \
    bash "$addons_root" "CREATE ROLE $id LOGIN PASSWORD '$password'"
}

bench-addons() {
  echo "-----> addons: addons:create postgresql vs CREATE ROLE + CREATE DATABASE through psql alone"
  start-addons-root
  alternate addons addons-ours addons-baseline
  stop-addons-root
  rm -rf "$addons_root"
}
