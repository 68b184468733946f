# shellcheck shell=bash
# The runtime store: where the built-in buildpacks get the language runtime (Go, Ruby, Python, PHP, Java…) that the
# slug carries, so a dyno needs nothing of the language from its stack. Sourced by a buildpack's bin/compile:
#
#   source "$BUILDPACK_DIR/../lib/runtime-store.sh"
#   version="$(runtime-install ruby "$wanted" .ruby-version "$BUILD_DIR/.heroku/ruby")"
#   runtime-activate "$BUILD_DIR/.heroku/ruby"          # the runtime on PATH (etc.) for the rest of the build
#   runtime-profile ruby .heroku/ruby "$BUILD_DIR"      # and at run time: .profile.d/ruby-runtime.sh
#
# A store is a URL (https://, http://, file:// or a folder) holding, per language, LANG/index.txt beside the archives:
#
#   # version  sha256                                                            archive             [strip]
#   1.27.3     0f2c…(64 hex digits)                                              go-1.27.3.tar.gz
#   1.22.5     904b…                                                             https://go.dev/dl/go1.22.5.linux-amd64.tar.gz  1
#
# An archive is a tar (gzip, xz or zstd) of the runtime's tree: its files at the top (or under STRIP folders, to be
# dropped), and an optional env.sh, sourced with RUNTIME_HOME set to where the tree is, that exports what the
# runtime needs (PATH, LD_LIBRARY_PATH, GEM_PATH…); without env.sh, RUNTIME_HOME/bin goes on PATH.
#
# The store is SLIPWAY_RUNTIME_STORE (slugc --runtime-store, the server's environment), or the app's config var of
# that name. Archives are kept in SLIPWAY_RUNTIME_CACHE, one cache for every build of the server, named by their
# SHA-256 and checked against it before each use, so that no build (nor a store set by one app) can give another a
# runtime other than the one its store lists.
# With no store configured, Go, Java, Python and Node.js come from their upstream download sites (runtime-upstream.sh).
# Sourced, not run: the calling script sets the shell options (set -euo pipefail).

# shellcheck source=SCRIPTDIR/runtime-upstream.sh
source "$(dirname "${BASH_SOURCE[0]}")/runtime-upstream.sh"

# The name users know a language by.
runtime-language-name() {
    case "$1" in
    go) echo Go ;;
    ruby) echo Ruby ;;
    python) echo Python ;;
    php) echo PHP ;;
    java) echo Java ;;
    node | nodejs) echo Node.js ;;
    clojure) echo Clojure ;;
    *) echo "$1" ;;
    esac
}

# Stops the build with Heroku's error format: what happened, then what to do.
runtime-fail() {
    local line
    for line in "$@"; do
        echo " !     $line" >&2
    done
    exit 1
}

# The store as users may be shown it: a URL of a web server as it is; a folder on the build server is not named.
runtime-store-shown() {
    case "$1" in
    http://* | https://*) echo "this server's runtime store, $1," ;;
    *) echo "this server's runtime store" ;;
    esac
}

# The store's URL without a trailing slash, or nothing when none is configured.
runtime-store-url() {
    local url="${SLIPWAY_RUNTIME_STORE:-}"
    echo "${url%/}"
}

# Copies URL (https://, http://, file:// or a path) to FILE. Prints curl's reason on failure.
runtime-fetch() {
    local url="$1" file="$2"
    case "$url" in
    http://* | https://*)
        curl --fail --silent --show-error --location --retry 2 --connect-timeout 20 --proto '=http,https' \
            --output "$file" -- "$url" 2>&1
        ;;
    file://*) cp -- "${url#file://}" "$file" 2>&1 ;;
    /*) cp -- "$url" "$file" 2>&1 ;;
    *)
        echo "unsupported URL scheme (use https://, http:// or file://)"
        return 1
        ;;
    esac
}

# The SHA-256 of FILE.
runtime-sha256() {
    sha256sum -- "$1" | cut -d' ' -f1
}

# The runtime cache: one folder for every build of the server; a private one under CACHE_DIR when slugc gave none.
runtime-cache-dir() {
    local dir="${SLIPWAY_RUNTIME_CACHE:-${CACHE_DIR:-${TMPDIR:-/tmp}}/runtimes}"
    mkdir -p "$dir" 2>/dev/null || runtime-fail "The runtime cache cannot be created." \
        "Tell the server's operator: SLIPWAY_RUNTIME_CACHE must be a writable folder."
    echo "$dir"
}

# Fetches LANG's index from the store (or, when the store cannot be reached, the copy kept from the last build that
# reached it) and prints its entries, one "version sha256 archive strip" line each, newest version first. With no
# store, the entries come from LANG's upstream (REQUESTED tells Java's which major version to look up); a version an
# upstream lists without its archive has "-" for a SHA-256.
runtime-index() {
    local lang="$1" requested="${2:-}" store cache key index partial reason name shown
    store="$(runtime-store-url)"
    shown="$(runtime-store-shown "$store")"
    name="$(runtime-language-name "$lang")"
    if [[ -z "$store" && -n "$(runtime-upstream-url "$lang")" ]]; then
        runtime-upstream-index "$lang" "$requested" |
            awk '$1 ~ /^[0-9A-Za-z][0-9A-Za-z.+_-]*$/ && ((length($2) == 64 && $2 ~ /^[0-9a-f]+$/) || $2 == "-") &&
                NF == 4 { print $1, $2, $3, ($4 ~ /^[0-9]+$/ ? $4 : 0) }' | sort -rV -k1,1
        return
    fi
    if [[ -z "$store" ]]; then
        case "$lang" in
        ruby | php)
            runtime-fail "No runtime store is configured, so this server has no $name to build with." \
                "$name publishes no prebuilt Linux runtime to download: tell the server's operator to build a runtime store with scripts/runtime-store and set SLIPWAY_RUNTIME_STORE (see docs/languages.md)."
            ;;
        esac
        runtime-fail "No runtime store is configured, so this server has no $name to build with." \
            "Tell the server's operator to set SLIPWAY_RUNTIME_STORE (slugc --runtime-store) to a runtime store: see docs/languages.md."
    fi
    cache="$(runtime-cache-dir)"
    key="$(printf '%s/%s' "$store" "$lang" | sha256sum | cut -d' ' -f1)"
    index="$cache/index-$key.txt"
    partial="$(mktemp "$cache/.partial-index.XXXXXX")"
    if reason="$(runtime-fetch "$store/$lang/index.txt" "$partial")"; then
        mv -f -- "$partial" "$index"
    else
        rm -f -- "$partial"
        if [[ -s "$index" ]]; then
            echo " !     Warning: $shown could not be reached; using its $name versions as last seen." >&2
        else
            reason="$(echo "$reason" | tail -n 1)"
            [[ "$store" == http://* || "$store" == https://* ]] || reason="no $lang/index.txt there"
            runtime-fail "${shown^} could not be reached for $name (${reason:-no answer})." \
                "Tell the server's operator to fix SLIPWAY_RUNTIME_STORE (slugc --runtime-store) or the network to it."
        fi
    fi
    # Only well-formed lines: a version, a 64-digit hash, an archive, an optional number of folders to strip.
    awk '!/^[[:space:]]*(#|$)/ && $1 ~ /^[0-9A-Za-z][0-9A-Za-z.+_-]*$/ && length($2) == 64 && $2 ~ /^[0-9a-f]+$/ && NF >= 3 {
            print $1, $2, $3, ($4 ~ /^[0-9]+$/ ? $4 : 0) }' "$index" | sort -rV -k1,1
}

# Whether VERSION is what REQUESTED asks for: the same, or REQUESTED is a prefix ending at a dot (3.1 takes 3.1.4,
# never 3.10.0). An empty REQUESTED takes any.
runtime-version-matches() {
    local version="$1" requested="$2"
    [[ -z "$requested" || "$version" == "$requested" || "$version" == "$requested".* ]]
}

# Fetches VERSION's archive (ARCHIVE: a name beside the index, or a URL) into the cache unless it is there, checks
# its SHA-256, and prints the cached file's path. The cache holds only whole, checked files: a download goes to a
# temporary name, is checked and flushed to disk, then renamed to its SHA-256.
runtime-archive() {
    local lang="$1" archive="$2" sha="$3" version="$4" store cache file partial reason name url shown upstream=""
    store="$(runtime-store-url)"
    shown="$(runtime-store-shown "$store")"
    cache="$(runtime-cache-dir)"
    name="$(runtime-language-name "$lang")"
    if [[ -z "$store" ]]; then
        upstream="$(runtime-upstream-variable "$lang")"
        shown="$(runtime-upstream-shown "$lang" "$(runtime-upstream-url "$lang")")"
    fi
    file="$cache/$sha"
    if [[ -f "$file" ]] && [[ "$(runtime-sha256 "$file")" == "$sha" ]]; then
        echo "$file"
        return
    fi
    case "$archive" in
    *://*) url="$archive" ;;
    *) url="$store/$lang/$archive" ;;
    esac
    partial="$(mktemp "$cache/.partial-archive.XXXXXX")"
    if [[ -n "$upstream" ]]; then
        echo "-----> Fetching $name $version from ${shown%,}" >&2
    else
        echo "-----> Fetching $name from the runtime store" >&2
    fi
    if ! reason="$(runtime-fetch "$url" "$partial")"; then
        rm -f -- "$partial"
        reason="$(echo "${reason:-no answer}" | tail -n 1)"
        if [[ -n "$upstream" ]]; then
            runtime-fail "${shown^} lists $name $version but its archive could not be fetched ($reason)." \
                "Try again later, or tell the server's operator to point $upstream at a mirror or set SLIPWAY_RUNTIME_STORE."
        fi
        [[ "$url" == http://* || "$url" == https://* ]] || reason="no $lang/$archive there"
        runtime-fail "${shown^} lists $name archive $archive but it could not be fetched ($reason)." \
            "Tell the server's operator to fix the runtime store (SLIPWAY_RUNTIME_STORE)."
    fi
    if [[ "$(runtime-sha256 "$partial")" != "$sha" ]]; then
        rm -f -- "$partial"
        if [[ -n "$upstream" ]]; then
            runtime-fail "$name $version downloaded from $shown does not match the SHA-256 that site publishes for it." \
                "Try again; if it goes on, tell the server's operator: the download or its mirror ($upstream) is corrupt or was tampered with."
        fi
        runtime-fail "$name archive $archive from $shown does not match its SHA-256 in $lang/index.txt." \
            "Tell the server's operator: the store's archive or index is wrong or was tampered with."
    fi
    sync -- "$partial" 2>/dev/null || true
    mv -f -- "$partial" "$file"
    echo "$file"
}

# The versions named when the one asked for (REQUESTED) is not served, from VERSION... (newest first): all of them when
# there are few; else the newest of each line (3.1.x, 1.22.x…) for the six lines nearest REQUESTED, and how many
# others there are, so that a site listing hundreds of versions is not read out in full.
runtime-nearest-versions() {
    local requested="$1" version line previous="" i=0 at=-1 start end
    shift
    local -a lines=()
    if [[ $# -le 8 ]]; then
        local list="$*"
        echo "${list// /, }"
        return
    fi
    for version in "$@"; do
        line="$version"
        [[ "$version" =~ ^([^.]+\.[^.]+)\. ]] && line="${BASH_REMATCH[1]}"
        [[ "$line" == "$previous" ]] && continue
        previous="$line"
        lines+=("$version")
    done
    for version in "${lines[@]}"; do
        if [[ $at -lt 0 && ( -z "$requested" ||
            "$(printf '%s\n%s\n' "$version" "$requested" | sort -V | head -n 1)" == "$version" ) ]]; then
            at=$i
        fi
        i=$((i + 1))
    done
    [[ $at -ge 0 ]] || at=${#lines[@]}
    start=$((at > 3 ? at - 3 : 0))
    end=$((start + 6 < ${#lines[@]} ? start + 6 : ${#lines[@]}))
    start=$((end > 6 ? end - 6 : 0))
    local shown="${lines[*]:start:end-start}"
    echo "${shown// /, } (and $(($# - (end - start))) other versions)"
}

# runtime-install LANG REQUESTED WHERE DEST: unpacks into DEST the newest version of LANG that REQUESTED asks for
# (a version or a prefix such as 1.22, 3.1, 17; empty for the newest the store has) and prints that version. WHERE
# names what asked for it (go.mod, .ruby-version…) for the error when no served version matches. DEST/.slipway-runtime
# records what was unpacked: a DEST kept between builds (under CACHE_DIR) that holds the same runtime is reused.
runtime-install() {
    local lang="$1" requested="$2" where="$3" dest="$4" entries version sha archive strip chosen="" name file shown
    local -a available=()
    name="$(runtime-language-name "$lang")"
    entries="$(runtime-index "$lang" "$requested")" || exit 1
    while read -r version sha archive strip; do
        [[ -n "$version" ]] || continue
        available+=("$version")
        if [[ -z "$chosen" && "$sha" != - ]] && runtime-version-matches "$version" "$requested"; then
            chosen="$version $sha $archive $strip"
        fi
    done <<<"$entries"
    shown="$(runtime-store-shown "$(runtime-store-url)")"
    if [[ -z "$(runtime-store-url)" ]]; then
        shown="$(runtime-upstream-shown "$lang" "$(runtime-upstream-url "$lang")")"
    fi
    if [[ ${#available[@]} -eq 0 ]]; then
        if [[ -z "$(runtime-store-url)" ]]; then
            runtime-fail "${shown^} lists no $name for this build host ($(uname -m) Linux)." \
                "Tell the server's operator to set SLIPWAY_RUNTIME_STORE to a runtime store: see docs/languages.md."
        fi
        runtime-fail "${shown^} serves no $name version." \
            "Tell the server's operator to add $name to the store (scripts/runtime-store), or build with another buildpack."
    fi
    if [[ -z "$chosen" ]]; then
        local list
        list="$(runtime-nearest-versions "$requested" "${available[@]}")"
        if [[ -z "$(runtime-store-url)" ]]; then
            runtime-fail "$name ${requested:-(the newest)} (asked for in $where) is not served by ${shown%,}; it has $name $list." \
                "Ask for one of those in $where, or have the server's operator serve $name ${requested:-} from a runtime store (SLIPWAY_RUNTIME_STORE)."
        fi
        runtime-fail "$name $requested (asked for in $where) is not served by this server; it has $name $list." \
            "Ask for one of those in $where, or have the server's operator add $name $requested to the runtime store."
    fi
    read -r version sha archive strip <<<"$chosen"
    # Already unpacked there by an earlier build (DEST in CACHE_DIR, for a runtime the slug does not carry).
    if [[ -f "$dest/.slipway-runtime" && "$(cat -- "$dest/.slipway-runtime")" == "$lang $version $sha" ]]; then
        echo "$version"
        return
    fi
    file="$(runtime-archive "$lang" "$archive" "$sha" "$version")" || exit 1
    rm -rf -- "$dest"
    mkdir -p -- "$dest"
    if ! tar -xf "$file" -C "$dest" --no-same-owner --no-same-permissions --strip-components="${strip:-0}" 2>/dev/null; then
        rm -rf -- "$dest"
        runtime-fail "$name $version from the runtime store could not be unpacked." \
            "Tell the server's operator: the store's archive $archive is not a tar file this build host can read."
    fi
    echo "$lang $version $sha" >"$dest/.slipway-runtime"
    echo "$version"
}

# cache-link CACHED BUILD_DIR RELATIVE: puts a tree kept in CACHE_DIR between builds (the runtime runtime-install
# unpacked there, the gems of the last build) into the app at RELATIVE as a link, instead of copying its files into
# every build: the build uses it through the link, and slugc packs the folder a link into the build cache names in the
# link's place (docs/slug-compiler.md), so the slug carries the tree itself.
cache-link() {
    local cached="$1" build_dir="$2" relative="$3"
    rm -rf -- "${build_dir:?}/$relative"
    mkdir -p -- "$(dirname -- "$build_dir/$relative")"
    ln -s -- "$cached" "$build_dir/$relative"
}

# runtime-activate DEST: the runtime unpacked at DEST on PATH (and whatever its env.sh sets) for the rest of the build.
runtime-activate() {
    local RUNTIME_HOME="$1"
    if [[ -f "$RUNTIME_HOME/env.sh" ]]; then
        # shellcheck source=/dev/null
        source "$RUNTIME_HOME/env.sh"
    else
        export PATH="$RUNTIME_HOME/bin:$PATH"
    fi
}

# runtime-profile LANG RELATIVE BUILD_DIR: writes .profile.d/LANG-runtime.sh, which activates at run time the
# runtime at $HOME/RELATIVE (the app lives in $HOME wherever the slug is unpacked).
runtime-profile() {
    local lang="$1" relative="$2" build_dir="$3"
    mkdir -p "$build_dir/.profile.d"
    {
        echo "# Written by the $(runtime-language-name "$lang") buildpack: the runtime this slug carries, in \$HOME/$relative."
        echo "RUNTIME_HOME=\"\$HOME/$relative\""
        if [[ -f "$build_dir/$relative/env.sh" ]]; then
            echo ". \"\$RUNTIME_HOME/env.sh\""
        else
            echo "export PATH=\"\$RUNTIME_HOME/bin:\$PATH\""
        fi
        echo "unset RUNTIME_HOME"
    } >"$build_dir/.profile.d/$lang-runtime.sh"
}
