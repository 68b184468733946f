# shellcheck shell=bash
# The addons goal of scripts/bench (sourced by it; uses its measure, alternate and fail): the time of
# `receive-pack addons:create <app> postgresql` on the server (the operator's form of the SSH command: a record, a
# role with a random password, a database closed to every other role, the config var and a release), against the
# same role and database made with psql alone on the same cluster. For context, not measured here: Heroku's
# addons:create heroku-postgresql takes minutes, Dokku's postgres:create tens of seconds (a container each).
#
#   addons   addons:create postgresql  vs  CREATE ROLE + CREATE DATABASE through psql alone, same cluster

# A root of its own with one app, and a first add-on that makes the cluster (initdb, certificate, first start)
# before any run: run 0, the warm-up, starts with the baseline, which needs the cluster.
start-addons-root() {
  addons_root="$work/addons-root"
  stop-addons-root
  rm -rf "$addons_root"
  "$work/install/bin/receive-pack" init --root "$addons_root" >/dev/null
  chmod 0711 "$work" "$addons_root"
  "$work/install/bin/receive-pack" apps create benchapp --owner bench --root "$addons_root" >/dev/null
  "$work/install/bin/receive-pack" addons:create benchapp postgresql --as CLUSTER --root "$addons_root" \
    >/dev/null 2>&1 || fail "addons:create failed in the addons goal" "Run it by hand on $addons_root to see why."
}

# Stops the cluster (as its user: Debian's postgres, since the bench runs as root) and removes the root.
stop-addons-root() {
  local data="${addons_root:-}/addons/postgresql/data"
  if [ -n "${addons_root:-}" ] && [ -f "$data/postmaster.pid" ]; then
    runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl stop -D "$data" -m fast -s >/dev/null 2>&1 || true
  fi
}

# Runs SQL on the cluster's socket as its administrator.
addons-admin() {
  local port
  port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$addons_root/addons/postgresql.json")
  runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 \
    -h "$addons_root/addons/postgresql/socket" -p "$port" -d postgres "$@"
}

addons-ours() {
  measure addons ours "$1" "$work/install/bin/receive-pack" addons:create benchapp postgresql --as "BENCH$1" \
    --root "$addons_root"
}

addons-baseline() {
  local id="bench_baseline_$1" password
  password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  # shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
  measure addons baseline "$1" bash -c "$(declare -f addons-admin); addons_root=\"\$1\"; addons-admin -c \"\$2\" && \
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
