# shellcheck shell=bash
# shellcheck disable=SC2154 # $work, $server, $bench_user…: scripts/bench, which sources this file, sets them
# The upstream goal of scripts/bench (sourced by it; uses its measure, alternate, fail, free-port and work): with no
# runtime store, a build takes Go from its download site (buildpacks/lib/runtime-upstream.sh). The site here is a local
# one of go.dev's layout (python3's http.server on loopback: the JSON listing, and Debian's Go 1.19 packed as go.dev
# packs Go). Ours: a new app's build gets Go with the archive already in the server's runtime cache (the listing read
# for the app, the archive checked and unpacked from the cache); baseline: the same with an empty runtime cache, as
# every build would be without one (the listing, the download, its SHA-256, the unpacking).
#
#   upstream  runtime-install go for a new app, archive cached vs fetched from the site   (ratio <= 1)

upstream_site_pid=""

# Packs Debian's Go as go.dev does (go/ at the top) into the site at $1, writes go.dev's JSON listing beside it.
make-upstream-site() {
  local site="$1" goroot version archive
  goroot="$(go env GOROOT 2>/dev/null || true)"
  [ -f "$goroot/VERSION" ] || goroot=/usr/lib/go-1.19
  [ -f "$goroot/VERSION" ] || fail "upstream: no Go to serve (Debian's golang-go)" "Install it: apt-get install golang-go"
  version="$(head -n 1 "$goroot/VERSION")"
  version="${version#go}"
  archive="go$version.linux-amd64.tar.gz"
  mkdir -p "$site/dl"
  tar -C "$goroot" --dereference --transform 's,^\.,go,' -cf - . | gzip -1 >"$site/dl/$archive"
  jq -n --arg version "$version" --arg file "$archive" --arg sha "$(sha256sum "$site/dl/$archive" | cut -d' ' -f1)" \
    '[{version: ("go" + $version), stable: true, files: [{filename: $file, os: "linux", arch: "amd64",
       version: ("go" + $version), sha256: $sha, size: 0, kind: "archive"}]}]' >"$site/dl/index.html"
  upstream_go="${version%.*}"
}

stop-upstream-site() {
  [ -z "$upstream_site_pid" ] || { kill "$upstream_site_pid" 2>/dev/null || true; wait "$upstream_site_pid" 2>/dev/null || true; }
  upstream_site_pid=""
}

# One install of Go into a new app's build cache ($2), with the runtime cache $3; side $1, run $4.
# shellcheck disable=SC2016 # in bash -c '…', $1, $2 and CACHE_DIR are the inner shell's
upstream-install() {
  measure upstream "$1" "$4" env -i PATH="$PATH" CACHE_DIR="$2" SLIPWAY_RUNTIME_CACHE="$3" \
    SLIPWAY_RUNTIME_UPSTREAM_GO="$upstream_url" bash -c 'set -euo pipefail
      source "$1/buildpacks/lib/runtime-store.sh"
      runtime-install go "$2" go.mod "$CACHE_DIR/go/runtime" >/dev/null' upstream "$repo_dir" "$upstream_go"
}

upstream-ours() {
  local dir="$work/upstream"
  rm -rf "$dir/app-ours"
  upstream-install ours "$dir/app-ours" "$dir/runtimes-shared" "$1"
}

upstream-baseline() {
  local dir="$work/upstream"
  rm -rf "$dir/app-baseline" "$dir/runtimes-empty"
  upstream-install baseline "$dir/app-baseline" "$dir/runtimes-empty" "$1"
}

bench-upstream() {
  echo "-----> upstream: Go from its download site (local, go.dev's layout) for a new app, archive cached vs fetched"
  local dir="$work/upstream" port
  rm -rf "$dir"
  mkdir -p "$dir"
  make-upstream-site "$dir/site"
  port=$(free-port)
  setsid python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir/site" >"$dir/site.log" 2>&1 &
  upstream_site_pid=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  upstream_url="http://127.0.0.1:$port/dl"
  alternate upstream upstream-ours upstream-baseline
  stop-upstream-site
}
