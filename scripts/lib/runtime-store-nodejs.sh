# shellcheck shell=bash
# The Node.js packer of scripts/runtime-store: the installed nodejs package's node with npm, laid out as nodejs.org's
# linux-x64 archives are (bin/node, bin/npm and bin/npx, lib/node_modules/npm), so the store's Node.js and upstream's
# unpack alike. The shared libraries node loads beyond the C library (Debian's libnode, libuv, ICU, OpenSSL…; a
# NodeSource build needs only libstdc++) go in lib/, found through env.sh's LD_LIBRARY_PATH. npm comes from wherever
# the package keeps it: NodeSource's and upstream's in /usr/lib/node_modules/npm, whole; Debian's npm package in
# /usr/share/nodejs/npm, its dependencies as separate Debian packages beside it (node-*, found through the global
# module folders Debian builds into node), copied here under npm's own node_modules so that npm runs from the tree
# with no Debian folder. Sourced by scripts/runtime-store. Needs: apt-get install nodejs npm (scripts/setup).

# The folders Debian's node looks in for modules no node_modules holds (Debian's packaged JavaScript libraries).
readonly RUNTIME_STORE_NODE_GLOBAL_DIRS=(/usr/share/nodejs /usr/lib/nodejs /usr/lib/x86_64-linux-gnu/nodejs)

runtime-store-pack-nodejs() {
    local work="$1" node npm version tree
    node="$(command -v node || true)"
    [[ -n "$node" ]] || {
        echo "       node is not installed (apt-get install nodejs npm): Node.js not packed"
        return 0
    }
    node="$(readlink -f "$node")"
    npm=""
    for npm in /usr/lib/node_modules/npm /usr/share/nodejs/npm ""; do
        [[ -z "$npm" || -f "$npm/bin/npm-cli.js" ]] && break
    done
    [[ -n "$npm" ]] || {
        echo "       npm is not installed (apt-get install npm): Node.js not packed"
        return 0
    }
    version="$("$node" -p 'process.versions.node')"
    tree="$work/node-v$version-linux-x64"
    mkdir -p "$tree/bin" "$tree/lib/node_modules"
    cp -L "$node" "$tree/bin/node"
    cp -rL "$npm" "$tree/lib/node_modules/npm"
    rm -rf "$tree/lib/node_modules/npm/docs" "$tree/lib/node_modules/npm/man"
    if [[ "$npm" == /usr/share/nodejs/npm ]]; then
        runtime-store-nodejs-npm-dependencies "$npm" "$tree/lib/node_modules/npm/node_modules"
    fi
    # npm's commands find node on PATH (Debian's may name /usr/bin/node).
    sed -i '1s|^#!.*|#!/usr/bin/env node|' "$tree/lib/node_modules/npm/bin/npm-cli.js" \
        "$tree/lib/node_modules/npm/bin/npx-cli.js"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tree/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tree/bin/npx"
    chmod 755 "$tree/bin/node" "$tree/lib/node_modules/npm/bin/npm-cli.js" "$tree/lib/node_modules/npm/bin/npx-cli.js"
    store-bundle-libs "$tree/lib" "$tree/bin/node"
    # Debian builds node with acorn, cjs-module-lexer and undici as separate packages that node reads at start from
    # /usr/share/nodejs: this node runs only where they are (Debian's nodejs installed, as in the stack image).
    if grep -aqs /usr/share/nodejs/cjs-module-lexer "$tree"/lib/libnode.so*; then
        echo "       Note: Debian's node reads acorn, cjs-module-lexer and undici from /usr/share/nodejs when it starts:"
        echo "       it runs where Debian's nodejs is installed (the stack image has it), not on a bare stack"
    fi
    cat >"$tree/env.sh" <<'ENV'
# Node.js's environment: node and npm in RUNTIME_HOME/bin, the shared libraries node loads in RUNTIME_HOME/lib.
export PATH="$RUNTIME_HOME/bin:$PATH"
export LD_LIBRARY_PATH="$RUNTIME_HOME/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
ENV
    # The tree must run on its own: npm from it, with no other node on PATH.
    if ! env -i PATH="$tree/bin:/usr/bin:/bin" LD_LIBRARY_PATH="$tree/lib" HOME="$work" \
        "$tree/bin/node" "$tree/bin/npm" --version >/dev/null 2>&1; then
        echo "       npm does not run from the packed tree: Node.js $version not packed"
        return 0
    fi
    store-add nodejs "$version" "$tree"
}

# runtime-store-nodejs-npm-dependencies NPM DEST: copies into DEST every package Debian's npm (at NPM) needs that is
# not inside it, found in Debian's global module folders, and theirs in turn (each name once: Debian packages one
# version of each).
runtime-store-nodejs-npm-dependencies() {
    local npm="$1" dest="$2" name dir found
    local -a queue=("$npm")
    local -A seen=()
    # npm's own modules' dependencies too (Debian keeps some of them inside npm).
    for dir in "$npm"/node_modules/* "$npm"/node_modules/@*/*; do
        [[ -f "$dir/package.json" ]] && queue+=("$dir")
    done
    mkdir -p "$dest"
    while [[ ${#queue[@]} -gt 0 ]]; do
        dir="${queue[0]}"
        queue=("${queue[@]:1}")
        while read -r name; do
            [[ -n "$name" && -z "${seen[$name]:-}" ]] || continue
            seen[$name]=1
            # Already inside npm (Debian keeps some of npm's modules in its own node_modules).
            [[ -d "$npm/node_modules/$name" || -d "$dest/$name" ]] && continue
            found=""
            for global in "${RUNTIME_STORE_NODE_GLOBAL_DIRS[@]}"; do
                if [[ -f "$global/$name/package.json" ]]; then
                    found="$global/$name"
                    break
                fi
            done
            [[ -n "$found" ]] || continue
            mkdir -p "$(dirname "$dest/$name")"
            cp -rL "$found" "$dest/$name"
            queue+=("$found")
        done < <(jq -r '(.dependencies // {}) + (.optionalDependencies // {}) | keys[]' "$dir/package.json" 2>/dev/null)
    done
}
