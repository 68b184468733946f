# shellcheck shell=bash
# The runtime store's default when the operator configures none: each language's own download site ("upstream"),
# read in the format that site publishes, with the SHA-256 that site publishes for each archive. Sourced by
# runtime-store.sh, which fetches, checks and caches the archives as it does a store's.
#
#   language  variable (a mirror of the same layout, or off)  default
#   Go        SLIPWAY_RUNTIME_UPSTREAM_GO       https://go.dev/dl: ?mode=json&include=all lists every file and its
#                                               sha256; the archives are beside it (go1.27.3.linux-amd64.tar.gz)
#   Java      SLIPWAY_RUNTIME_UPSTREAM_JAVA     https://api.adoptium.net, Eclipse Temurin's API v3:
#                                               /v3/info/available_releases, then /v3/assets/latest/MAJOR/hotspot
#                                               (a JRE's package link and checksum)
#   Python    SLIPWAY_RUNTIME_UPSTREAM_PYTHON   python-build-standalone's newest release: SHA256SUMS and the
#                                               install_only archives beside it
#   Node.js   SLIPWAY_RUNTIME_UPSTREAM_NODE     https://nodejs.org/dist: index.json lists every release and its
#                                               files (linux-x64); vX.Y.Z/SHASUMS256.txt beside its archives
#
# Ruby and PHP publish sources only, no relocatable Linux builds: they have no upstream and need a runtime store.
# A listing is fetched at most once
# an hour into the app's build cache (and its last copy used when the site cannot be reached); an archive once per
# server, into the shared runtime cache.

# Minutes a fetched listing is used before it is fetched again.
RUNTIME_UPSTREAM_LISTING_MINUTES=60

# The upstream of LANG without a trailing slash, or nothing when LANG has none or the operator turned it off.
runtime-upstream-url() {
    local url
    case "$1" in
    go) url="${SLIPWAY_RUNTIME_UPSTREAM_GO:-https://go.dev/dl}" ;;
    java) url="${SLIPWAY_RUNTIME_UPSTREAM_JAVA:-https://api.adoptium.net}" ;;
    python)
        url="${SLIPWAY_RUNTIME_UPSTREAM_PYTHON:-https://github.com/astral-sh/python-build-standalone/releases/latest/download}"
        ;;
    nodejs) url="${SLIPWAY_RUNTIME_UPSTREAM_NODE:-https://nodejs.org/dist}" ;;
    *) url="" ;;
    esac
    [[ "$url" == off ]] && url=""
    echo "${url%/}"
}

# The variable that names LANG's upstream.
runtime-upstream-variable() {
    local lang="$1"
    [[ "$lang" == nodejs ]] && lang=node
    echo "SLIPWAY_RUNTIME_UPSTREAM_${lang^^}"
}

# The upstream as users are shown it: whose site, and its URL (a public download site or the operator's mirror).
runtime-upstream-shown() {
    local lang="$1" url="$2"
    case "$lang" in
    go) echo "Go's download site, $url," ;;
    java) echo "Eclipse Temurin's API, $url," ;;
    python) echo "python-build-standalone's releases, $url," ;;
    nodejs) echo "Node.js's download site, $url," ;;
    *) echo "$url" ;;
    esac
}

# The name LANG's upstream gives this machine's architecture (uname -m).
runtime-upstream-arch() {
    local lang="$1" machine
    machine="$(uname -m)"
    case "$lang:$machine" in
    go:x86_64) echo amd64 ;;
    go:aarch64) echo arm64 ;;
    java:x86_64) echo x64 ;;
    java:aarch64 | python:aarch64) echo aarch64 ;;
    python:x86_64) echo x86_64 ;;
    nodejs:x86_64) echo x64 ;;
    nodejs:aarch64) echo arm64 ;;
    *)
        runtime-fail "$(runtime-language-name "$lang") is not downloaded for this build host's architecture ($machine)." \
            "Tell the server's operator to set SLIPWAY_RUNTIME_STORE to a runtime store: see docs/languages.md."
        ;;
    esac
}

# runtime-upstream-listing LANG URL KIND: fetches URL, one of LANG's upstream listings (KIND json or sums), unless a
# copy younger than RUNTIME_UPSTREAM_LISTING_MINUTES is kept, and prints the kept file. A site that cannot be reached
# leaves the last copy in use, with a warning; an answer that is not a listing is refused. Listings are kept in the
# app's own build cache (CACHE_DIR), never in the runtime cache every app's build shares: the SHA-256s in a listing
# are what archives are checked against, so no app's build may hand another a listing of its own.
runtime-upstream-listing() {
    local lang="$1" url="$2" kind="$3" cache file partial reason name shown variable
    name="$(runtime-language-name "$lang")"
    shown="$(runtime-upstream-shown "$lang" "$(runtime-upstream-url "$lang")")"
    variable="$(runtime-upstream-variable "$lang")"
    if [[ -n "${CACHE_DIR:-}" ]]; then
        cache="$CACHE_DIR/runtime-listings"
        mkdir -p -- "$cache"
    else
        cache="$(runtime-cache-dir)"
    fi
    file="$cache/upstream-$(printf '%s' "$url" | sha256sum | cut -d' ' -f1)"
    if [[ -s "$file" && -n "$(find "$file" -mmin -"$RUNTIME_UPSTREAM_LISTING_MINUTES" 2>/dev/null)" ]]; then
        echo "$file"
        return
    fi
    partial="$(mktemp "$cache/.partial-listing.XXXXXX")"
    if reason="$(runtime-fetch "$url" "$partial")"; then
        if [[ "$kind" == json ]] && ! jq -e 'type == "array" or type == "object"' "$partial" >/dev/null 2>&1; then
            reason="its answer is not the JSON listing it publishes"
        elif [[ "$kind" == sums ]] && ! grep -Eq '^[0-9a-f]{64}[[:space:]]' "$partial"; then
            reason="its answer is not a SHA256SUMS listing"
        else
            reason=""
            mv -f -- "$partial" "$file"
        fi
    else
        reason="${reason:-no answer}"
    fi
    rm -f -- "$partial"
    if [[ -n "$reason" ]]; then
        if [[ -s "$file" ]]; then
            echo " !     Warning: ${shown%,} could not be reached; using its $name versions as last seen." >&2
        else
            runtime-fail "${shown^} could not be reached for $name ($(echo "$reason" | tail -n 1))." \
                "Tell the server's operator to fix the network to it, point $variable at a mirror, or set SLIPWAY_RUNTIME_STORE."
        fi
    fi
    echo "$file"
}

# Go: every stable release go.dev lists, this architecture's archive of each (go/ at the top: strip 1).
runtime-upstream-index-go() {
    local base="$1" arch listing
    arch="$(runtime-upstream-arch go)"
    listing="$(runtime-upstream-listing go "$base/?mode=json&include=all" json)" || exit 1
    jq -r --arg arch "$arch" --arg base "$base" '.[]? | select(.stable == true) | .files[]?
        | select(.os == "linux" and .arch == $arch and .kind == "archive")
        | select((.filename | type) == "string" and (.filename | test("^go[0-9][0-9A-Za-z.]*\\.linux-[0-9a-z]+\\.tar\\.gz$")))
        | "\(.version | ltrimstr("go")) \(.sha256) \($base)/\(.filename) 1"' "$listing"
}

# Java: the newest JRE of the major version asked for (the newest LTS when none is), and every other major version
# Temurin serves, listed with "-" for a SHA-256: they are named when the request matches none, never installed.
runtime-upstream-index-java() {
    local base="$1" requested="$2" arch releases major listing other
    arch="$(runtime-upstream-arch java)"
    releases="$(runtime-upstream-listing java "$base/v3/info/available_releases" json)" || exit 1
    major="${requested%%.*}"
    [[ -n "$major" ]] || major="$(jq -r '.most_recent_lts // empty' "$releases")"
    while read -r other; do
        [[ "$other" =~ ^[0-9]+$ && "$other" != "$major" ]] && echo "$other - - 0"
    done < <(jq -r '.available_releases[]? | numbers' "$releases")
    [[ "$major" =~ ^[0-9]+$ ]] || return 0
    jq -e --argjson major "$major" '.available_releases | index($major) != null' "$releases" >/dev/null 2>&1 ||
        return 0
    listing="$(runtime-upstream-listing java \
        "$base/v3/assets/latest/$major/hotspot?architecture=$arch&image_type=jre&os=linux&vendor=eclipse" json)" ||
        exit 1
    jq -r --arg arch "$arch" '[.[]? | select(.binary.os == "linux" and .binary.architecture == $arch
            and .binary.image_type == "jre" and (.binary.package.link | type) == "string"
            and (.binary.package.link | test("^https?://")))][0] // empty
        | "\(.version.major).\(.version.minor).\(.version.security) \(.binary.package.checksum) \(.binary.package.link) 1"' \
        "$listing"
}

# Python: every install_only archive of this architecture the release's SHA256SUMS lists (python/ at the top).
runtime-upstream-index-python() {
    local base="$1" arch sums
    arch="$(runtime-upstream-arch python)"
    sums="$(runtime-upstream-listing python "$base/SHA256SUMS" sums)" || exit 1
    awk -v arch="$arch" -v base="$base" '
        $2 ~ ("^cpython-[0-9]+\\.[0-9]+\\.[0-9]+\\+[0-9]+-" arch "-unknown-linux-gnu-install_only\\.tar\\.gz$") {
            version = $2; sub(/^cpython-/, "", version); sub(/\+.*/, "", version)
            file = $2; gsub(/\+/, "%2B", file)
            print version, $1, base "/" file, 1
        }' "$sums"
}

# Node.js: every release index.json lists with a linux build for this architecture, "-" for a SHA-256 (each release
# publishes its own SHASUMS256.txt), but the newest that REQUESTED (a version or a prefix) names, read from its
# SHASUMS256.txt (node-vX.Y.Z-linux-x64/ at the top of its archive: strip 1).
runtime-upstream-index-nodejs() {
    local base="$1" requested="$2" arch listing versions version sums sha
    arch="$(runtime-upstream-arch nodejs)"
    listing="$(runtime-upstream-listing nodejs "$base/index.json" json)" || exit 1
    versions="$(jq -r --arg file "linux-$arch" '.[]? | select((.files | type) == "array" and (.files | index($file)))
        | .version | strings | select(test("^v[0-9]+\\.[0-9]+\\.[0-9]+$")) | ltrimstr("v")' "$listing" | sort -rV)"
    version=""
    if [[ -n "$requested" ]]; then
        version="$(grep -m 1 -E "^${requested//./\\.}(\\.|$)" <<<"$versions" || true)"
    fi
    if [[ -n "$version" ]]; then
        sums="$(runtime-upstream-listing nodejs "$base/v$version/SHASUMS256.txt" sums)" || exit 1
        sha="$(awk -v name="node-v$version-linux-$arch.tar.xz" '$2 == name && length($1) == 64 && $1 ~ /^[0-9a-f]+$/ { print $1; exit }' "$sums")"
        [[ -n "$sha" ]] && echo "$version $sha $base/v$version/node-v$version-linux-$arch.tar.xz 1"
    fi
    while read -r other; do
        [[ -n "$other" && "$other" != "$version" ]] && echo "$other - - 0"
    done <<<"$versions"
}

# runtime-upstream-index LANG REQUESTED: LANG's entries from its upstream, "version sha256 url strip" lines.
runtime-upstream-index() {
    local lang="$1" requested="$2" base
    base="$(runtime-upstream-url "$lang")"
    case "$lang" in
    go) runtime-upstream-index-go "$base" ;;
    java) runtime-upstream-index-java "$base" "$requested" ;;
    python) runtime-upstream-index-python "$base" ;;
    nodejs) runtime-upstream-index-nodejs "$base" "$requested" ;;
    esac
}
