# shellcheck shell=bash
# The Java packer of scripts/runtime-store: a JRE from Debian's openjdk-17-jre-headless (and any other
# openjdk-N-jre-headless installed), made relocatable: the package's files under /usr/lib/jvm copied with every link
# dereferenced (its conf/ points into /etc/java-N-openjdk, lib/security/cacerts into /etc/ssl/certs/java), and the
# libraries its optional parts load beyond what every Debian has (freetype, harfbuzz, libjpeg, lcms2, ALSA, pcsclite)
# copied into lib/, which each of the JRE's libraries searches first ($ORIGIN). env.sh sets JAVA_HOME and PATH.
# Sourced by scripts/runtime-store.

runtime-store-pack-java() {
    local work="$1" package jvm version tree file relative
    local -a libraries
    for package in $(dpkg-query -W -f='${Package} ${Status}\n' 'openjdk-*-jre-headless' 2>/dev/null |
        awk '/install ok installed/ { print $1 }'); do
        jvm="$(dpkg -L "$package" | grep -m 1 -E '^/usr/lib/jvm/java-[0-9]+-openjdk-[a-z0-9]+$' || true)"
        [[ -n "$jvm" && -x "$jvm/bin/java" ]] || continue
        version="$(sed -n 's/^JAVA_VERSION="\(.*\)"$/\1/p' "$jvm/release")"
        [[ -n "$version" ]] || continue
        tree="$work/$package"
        mkdir -p "$tree"
        # The package's own files (not its folders, nor the links into /usr/share/doc), each link dereferenced.
        while read -r file; do
            [[ "$file" == "$jvm"/* && ! -d "$file" ]] || continue
            relative="${file#"$jvm"/}"
            # Not for running apps: the docs, javac's symbol table for --release, the class-data archive for heaps over
            # 32 GB.
            case "$relative" in
            docs | man/* | lib/ct.sym | lib/server/classes_nocoops.jsa) continue ;;
            esac
            if [[ ! -e "$file" ]]; then
                echo "       $package: $relative points nowhere (is ca-certificates-java installed?): skipped"
                continue
            fi
            mkdir -p "$tree/$(dirname "$relative")"
            cp -L "$file" "$tree/$relative"
        done < <(dpkg -L "$package")
        mapfile -t libraries < <(find "$tree/lib" -name '*.so' -type f)
        runtime-store-java-libraries "$tree/lib" "${libraries[@]}"
        runtime-store-java-env "$tree"
        store-add java "$version" "$tree"
        rm -rf "$tree"
    done
}

# Copies into LIBDIR the shared libraries the JRE's FILEs load that a Debian stack may lack: all but the C library's
# and those of Debian's required packages (zlib, libstdc++, libgcc), which libjvm.so itself needs from the system.
runtime-store-java-libraries() {
    local libdir="$1" lib
    shift
    while read -r lib; do
        [[ -n "$lib" ]] || continue
        case "$(basename "$lib")" in
        libc.so* | libm.so* | libpthread.so* | libdl.so* | librt.so* | ld-linux* | libresolv.so* | libutil.so*) ;;
        libz.so* | libstdc++.so* | libgcc_s.so*) ;;
        *) [[ -e "$libdir/$(basename "$lib")" ]] || cp -L "$lib" "$libdir/$(basename "$lib")" ;;
        esac
    done < <(for file in "$@"; do ldd "$file" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'; done | sort -u)
}

runtime-store-java-env() {
    cat >"$1/env.sh" <<'ENV'
# The JRE's environment: JAVA_HOME is where this tree was unpacked (RUNTIME_HOME).
export JAVA_HOME="$RUNTIME_HOME"
export PATH="$RUNTIME_HOME/bin:$PATH"
ENV
}
