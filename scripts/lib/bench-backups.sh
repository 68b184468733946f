# shellcheck shell=bash
# shellcheck disable=SC2154 # $work, $server, $bench_user…: scripts/bench, which sources this file, sets them
# The backups goal of scripts/bench (sourced by it after bench-addons.sh, whose PostgreSQL root it shares; uses its
# measure, alternate, note and fail): the time of `receive-pack pg:backups:capture <app>` of a PostgreSQL add-on
# holding 1 GB (the operator's form of the SSH command: the lock, pg_dump -Fc into a temporary file, flushed and
# renamed into the root's backups folder), against pg_dump -Fc alone (the same compression, -Z 6, into a file) of the
# same database on the same cluster.
#
#   backups   pg:backups:capture of a 1 GB database  vs  pg_dump -Fc -Z 6 alone, same cluster

# How much the add-on's database holds, in MiB.
backups_size_mb=1024

# A root of its own with one app and its PostgreSQL add-on, filled with generate_series: rows of 8 MD5 digests
# (256 hexadecimal characters, which compress as real text does), until the table is about $backups_size_mb MiB.
start-backups-root() {
  backups_root="$work/backups-root"
  make-postgres-root "$backups_root" backups
  backups_database=$(python3 -c '
import json, os, sys
folder = sys.argv[1] + "/addons/records"
record = json.load(open(os.path.join(folder, os.listdir(folder)[0])))
print(record["credentials"]["database"])' "$backups_root")
  # 256 + 4 bytes a row and PostgreSQL's ~30 bytes of overhead: about 3700 rows a MiB.
  local rows=$((backups_size_mb * 3700))
  backups-admin -d "$backups_database" -c "CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g + 1)::text) ||
    md5((g + 2)::text) || md5((g + 3)::text) || md5((g * 7)::text) || md5((g * 11)::text) || md5((g * 13)::text) ||
    md5((g * 17)::text) AS body FROM generate_series(1, $rows) AS g" >/dev/null
  local bytes
  bytes=$(backups-admin -d "$backups_database" -A -t -c "SELECT pg_total_relation_size('big')")
  echo "       the add-on's database holds $((bytes / 1048576)) MiB"
  backups_bytes="$bytes"
}

# Stops the goal's cluster (scripts/bench's exit trap calls it too).
stop-backups-root() {
  stop-postgres-root "${backups_root:-}"
}

# psql on the cluster's socket as its administrator.
backups-admin() {
  postgres-admin "$backups_root" "$@"
}

backups-ours() {
  measure backups ours "$1" "$work/install/bin/receive-pack" pg:backups:capture benchapp --root "$backups_root"
  # Each capture is a new backup: it goes once measured, so that the disk holds one at a time.
  rm -f "$backups_root"/addons/backups/*/b*.dump
}

backups-baseline() {
  local port
  port=$(postgres-port "$backups_root")
  mkdir -p "$work/outputs/backups"
  chmod 0777 "$work/outputs/backups"
  measure backups baseline "$1" runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_dump -Fc -Z 6 \
    -h "$backups_root/addons/postgresql/socket" -p "$port" -d "$backups_database" \
    -f "$work/outputs/backups/baseline.dump"
  note backups baseline-bytes "$1" "$(stat -c %s "$work/outputs/backups/baseline.dump")"
  rm -f "$work/outputs/backups/baseline.dump"
}

bench-backups() {
  echo "-----> backups: pg:backups:capture of a $backups_size_mb MiB database vs pg_dump -Fc alone"
  start-backups-root
  note backups database-bytes 1 "$backups_bytes"
  alternate backups backups-ours backups-baseline
  stop-backups-root
  rm -rf "$backups_root" "$work/outputs/backups"
}
