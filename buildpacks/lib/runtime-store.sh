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
# Sourced, not run: the calling script sets the shell options (set -euo pipefail).

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
# reached it) and prints its entries, one "version sha256 archive strip" line each, newest version first.
runtime-index() {
    local lang="$1" store cache key index partial reason name shown
    store="$(runtime-store-url)"
    shown="$(runtime-store-shown "$store")"
    name="$(runtime-language-name "$lang")"
    if [[ -z "$store" ]]; then
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

# Fetches the archive (ARCHIVE: a name beside the index, or a URL) into the cache unless it is there, checks its
# SHA-256, and prints the cached file's path.
runtime-archive() {
    local lang="$1" archive="$2" sha="$3" store cache file partial reason name url shown
    store="$(runtime-store-url)"
    shown="$(runtime-store-shown "$store")"
    cache="$(runtime-cache-dir)"
    name="$(runtime-language-name "$lang")"
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
    echo "-----> Fetching $name from the runtime store" >&2
    if ! reason="$(runtime-fetch "$url" "$partial")"; then
        rm -f -- "$partial"
        [[ "$url" == http://* || "$url" == https://* ]] || reason="no $lang/$archive there"
        runtime-fail "${shown^} lists $name archive $archive but it could not be fetched ($(echo "$reason" | tail -n 1))." \
            "Tell the server's operator to fix the runtime store (SLIPWAY_RUNTIME_STORE)."
    fi
    if [[ "$(runtime-sha256 "$partial")" != "$sha" ]]; then
        rm -f -- "$partial"
        runtime-fail "$name archive $archive from $shown does not match its SHA-256 in $lang/index.txt." \
            "Tell the server's operator: the store's archive or index is wrong or was tampered with."
    fi
    mv -f -- "$partial" "$file"
    echo "$file"
}

# runtime-install LANG REQUESTED WHERE DEST: unpacks into DEST the newest version of LANG that REQUESTED asks for
# (a version or a prefix such as 1.22, 3.1, 17; empty for the newest the store has) and prints that version. WHERE
# names what asked for it (go.mod, .ruby-version…) for the error when no served version matches. DEST/.slipway-runtime
# records what was unpacked: a DEST kept between builds (under CACHE_DIR) that holds the same runtime is reused.
runtime-install() {
    local lang="$1" requested="$2" where="$3" dest="$4" entries version sha archive strip chosen="" name file shown
    local -a available=()
    name="$(runtime-language-name "$lang")"
    entries="$(runtime-index "$lang")" || exit 1
    while read -r version sha archive strip; do
        [[ -n "$version" ]] || continue
        available+=("$version")
        if [[ -z "$chosen" ]] && runtime-version-matches "$version" "$requested"; then
            chosen="$version $sha $archive $strip"
        fi
    done <<<"$entries"
    if [[ ${#available[@]} -eq 0 ]]; then
        shown="$(runtime-store-shown "$(runtime-store-url)")"
        runtime-fail "${shown^} serves no $name version." \
            "Tell the server's operator to add $name to the store (scripts/runtime-store), or build with another buildpack."
    fi
    if [[ -z "$chosen" ]]; then
        local list="${available[*]}"
        runtime-fail "$name $requested (asked for in $where) is not served by this server; it has $name ${list// /, }." \
            "Ask for one of those in $where, or have the server's operator add $name $requested to the runtime store."
    fi
    read -r version sha archive strip <<<"$chosen"
    # Already unpacked there by an earlier build (DEST in CACHE_DIR, for a runtime the slug does not carry).
    if [[ -f "$dest/.slipway-runtime" && "$(cat -- "$dest/.slipway-runtime")" == "$lang $version $sha" ]]; then
        echo "$version"
        return
    fi
    file="$(runtime-archive "$lang" "$archive" "$sha")" || exit 1
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
