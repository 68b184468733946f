# shellcheck shell=bash
# The Python packer of scripts/runtime-store: Debian's python3.x made relocatable (Python finds its standard library
# from where its executable is: bin/python3.x beside lib/python3.x), with the shared libraries its extension modules
# load beyond the C library in lib/, and Debian's pip wheel in its dist-packages, so the Python buildpack needs
# nothing of the build host's Python. Sourced by scripts/runtime-store. Needs: apt-get install python3 python3-pip-whl.

runtime-store-pack-python() {
    local work="$1" binary version minor tree wheel
    local -a modules
    # Debian's pip wheel (python3-pip-whl): the pip Debian ships for virtual environments, no network needed.
    wheel="$(find /usr/share/python-wheels -name 'pip-*.whl' 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$wheel" ]] || echo "       Debian's pip wheel is missing (apt-get install python3-pip-whl): packed without pip"
    for binary in /usr/bin/python3.[0-9]*; do
        [[ "$binary" =~ /python3\.[0-9]+$ && -x "$binary" ]] || continue
        version="$("$binary" -I -c 'import platform; print(platform.python_version())')"
        minor="${binary##*/}"
        tree="$work/$minor"
        mkdir -p "$tree/bin" "$tree/lib"
        cp -L "$binary" "$tree/bin/$minor"
        ln -s "$minor" "$tree/bin/python3"
        ln -s "$minor" "$tree/bin/python"
        (cd /usr/lib && tar -cf - --exclude="$minor/test" --exclude="$minor/EXTERNALLY-MANAGED" \
            --exclude='__pycache__' --exclude="$minor/site-packages" --exclude="$minor/dist-packages" "$minor") |
            tar -xf - -C "$tree/lib"
        # Debian's site module looks for packages in lib/python3/dist-packages under the prefix.
        mkdir -p "$tree/lib/python3/dist-packages"
        if [[ -n "$wheel" ]]; then
            (cd "$tree/lib/python3/dist-packages" && python3 -m zipfile -e "$wheel" .)
        fi
        mapfile -t modules < <(find "$tree/lib/$minor/lib-dynload" -name '*.so')
        store-bundle-libs "$tree/lib" "$tree/bin/$minor" "${modules[@]}"
        cat >"$tree/env.sh" <<'ENV'
# Python's environment: the interpreter finds its standard library beside itself; its extension modules' libraries
# are in RUNTIME_HOME/lib.
export PATH="$RUNTIME_HOME/bin:$PATH"
export LD_LIBRARY_PATH="$RUNTIME_HOME/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
ENV
        store-add python "$version" "$tree"
    done
}
