# shellcheck shell=bash
# What the JVM buildpacks (java, clojure) share: the JRE the slug carries (from the runtime store, or with none from
# Eclipse Temurin's API, in the version system.properties asks for), the run-time script that fits the heap to the dyno's memory, the build host's JDK, and
# finding the runnable jar. Sourced after lib/common.sh and runtime-store.sh; the calling script sets the options.

# Where the JRE goes in the app, and so under $HOME at run time.
JVM_RUNTIME_DIR=".heroku/jdk"

# The Java version system.properties asks for (java.runtime.version, as on Heroku), or nothing. Heroku's old forms
# are read too: 1.8 is 8, and a vendor prefix (zulu-17, heroku-21) is dropped, since the store has one vendor.
jvm-requested-version() {
    local build_dir="$1" value
    [[ -f "$build_dir/system.properties" ]] || return 0
    value="$(sed -n -E 's/^[[:space:]]*java\.runtime\.version[[:space:]]*[=:][[:space:]]*//p' \
        "$build_dir/system.properties" | tail -n 1 | tr -d '[:space:]')"
    [[ -n "$value" ]] || return 0
    value="${value#*-}"
    [[ "$value" =~ ^1\.([0-9]+)(\..*)?$ ]] && value="${BASH_REMATCH[1]}"
    if [[ ! "$value" =~ ^[0-9]+(\.[0-9]+)*$ ]]; then
        fail "system.properties asks for java.runtime.version '$value', which is not a Java version." \
            "Write a version such as java.runtime.version=17 in system.properties."
    fi
    echo "$value"
}

# Installs the JRE the app asks for into the app, and the scripts that set it up at run time; prints its version. The
# JRE is unpacked once into CACHE_DIR (kept while the app asks for the same one) and linked from the app
# (cache-link: the slug holds the JRE itself).
jvm-install-runtime() {
    local build_dir="$1" cache_dir="$2" requested version
    requested="$(jvm-requested-version "$build_dir")"
    version="$(runtime-install java "$requested" system.properties "$cache_dir/java/jre")" || exit 1
    cache-link "$cache_dir/java/jre" "$build_dir" "$JVM_RUNTIME_DIR"
    runtime-profile java "$JVM_RUNTIME_DIR" "$build_dir"
    jvm-write-heap-profile "$build_dir"
    echo "$version"
}

# The heap fitted to the dyno, as Heroku's JVM buildpacks do: the memory limit of the dyno's control group (cgroup
# v2's memory.max, or v1's memory.limit_in_bytes, where the runner and Docker show a dyno its own), three fifths of it
# up to 1 GiB (300 MB of a 512 MB dyno leaves room for the JVM's own memory), four fifths above. The app's JAVA_OPTS
# come after, so an -Xmx of its own wins. POSIX sh: a stack's shell may not be bash.
jvm-write-heap-profile() {
    local build_dir="$1"
    mkdir -p "$build_dir/.profile.d"
    cat >"$build_dir/.profile.d/jvm.sh" <<'PROFILE'
# Written by the JVM buildpack: JAVA_OPTS with a heap fitted to this dyno's memory limit (the app's own JAVA_OPTS win).
slipway_jvm_limit=""
if [ -r /sys/fs/cgroup/memory.max ]; then
    slipway_jvm_limit="$(cat /sys/fs/cgroup/memory.max 2>/dev/null)"
elif [ -r /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
    slipway_jvm_limit="$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null)"
fi
case "$slipway_jvm_limit" in
'' | *[!0-9]*) slipway_jvm_limit="" ;;
*) [ "${#slipway_jvm_limit}" -le 13 ] || slipway_jvm_limit="" ;; # cgroup v1 says "no limit" with a huge number
esac
if [ -n "$slipway_jvm_limit" ]; then
    slipway_jvm_mb=$((slipway_jvm_limit / 1048576))
    if [ "$slipway_jvm_mb" -le 1024 ]; then
        slipway_jvm_heap=$((slipway_jvm_mb * 3 / 5))
        export JAVA_OPTS="-Xmx${slipway_jvm_heap}m -Xss512k -XX:CICompilerCount=2 -Dfile.encoding=UTF-8 ${JAVA_OPTS:-}"
    else
        slipway_jvm_heap=$((slipway_jvm_mb * 4 / 5))
        export JAVA_OPTS="-Xmx${slipway_jvm_heap}m -Dfile.encoding=UTF-8 ${JAVA_OPTS:-}"
    fi
    unset slipway_jvm_mb slipway_jvm_heap
else
    export JAVA_OPTS="-Dfile.encoding=UTF-8 ${JAVA_OPTS:-}"
fi
unset slipway_jvm_limit
PROFILE
}

# The build host's JDK compiles the app (the slug carries only the JRE): its jar tool, or a failure naming the package.
jvm-host-jar-tool() {
    local javac
    javac="$(command -v javac || true)"
    if [[ -z "$javac" ]]; then
        fail "No Java compiler (JDK) is installed on this build host." \
            "Install one with: apt-get install openjdk-17-jdk-headless"
    fi
    echo "$(dirname "$(readlink -f "$javac")")/jar"
}

# Prints, one a line and relative to DIR, the jars among the given ones (relative paths) whose manifest names a
# Main-Class: the jars `java -jar` can run.
jvm-runnable-jars() {
    local dir="$1" jar_tool="$2" jar scratch
    shift 2
    scratch="$(mktemp -d)"
    for jar in "$@"; do
        rm -rf "${scratch:?}"/*
        # unzip reads the manifest in a few milliseconds; the JDK's jar tool starts a JVM (a third of a second).
        if command -v unzip >/dev/null; then
            mkdir -p "$scratch/META-INF"
            unzip -p "$dir/$jar" META-INF/MANIFEST.MF >"$scratch/META-INF/MANIFEST.MF" 2>/dev/null || continue
        else
            (cd "$scratch" && "$jar_tool" xf "$dir/$jar" META-INF/MANIFEST.MF 2>/dev/null) || continue
        fi
        if grep -q -E '^Main-Class:[[:space:]]*[^[:space:]]' "$scratch/META-INF/MANIFEST.MF" 2>/dev/null; then
            echo "$jar"
        fi
    done
    rm -rf "$scratch"
}

# Records the one runnable jar among those the PATTERNs (globs in the app, tried in order until one matches) find, for
# bin/release (web: java $JAVA_OPTS -jar JAR); else says why there is no default web process. HOW names what makes one.
jvm-record-web-jar() {
    local build_dir="$1" jar_tool="$2" how="$3" pattern jar
    shift 3
    local -a found=() candidates=() runnable=()
    for pattern in "$@"; do
        mapfile -t found < <(cd "$build_dir" && { compgen -G "$pattern" || true; })
        [[ ${#found[@]} -gt 0 ]] && break
    done
    for jar in "${found[@]}"; do
        case "$jar" in
        *-sources.jar | *-javadoc.jar | *-tests.jar | */original-*.jar) ;;
        *) candidates+=("$jar") ;;
        esac
    done
    mkdir -p "$build_dir/.heroku/java"
    rm -f "$build_dir/.heroku/java/web-jar"
    if [[ ${#candidates[@]} -gt 0 ]]; then
        mapfile -t runnable < <(jvm-runnable-jars "$build_dir" "$jar_tool" "${candidates[@]}")
    fi
    if [[ ${#runnable[@]} -eq 1 && "${runnable[0]}" =~ ^[A-Za-z0-9._+/-]+\.jar$ ]]; then
        echo "${runnable[0]}" >"$build_dir/.heroku/java/web-jar"
        step "Runnable jar: ${runnable[0]} (the default web process runs it)"
    elif [[ ${#runnable[@]} -gt 1 ]]; then
        step "Several runnable jars (${runnable[*]}): declare the web process in a Procfile"
    else
        step "No runnable jar ($how): declare the web process in a Procfile"
    fi
}

# Strips the escape sequences JVM build tools' console libraries write even when not on a terminal.
jvm-plain-output() {
    sed -u 's/\x1b\[[0-9;]*[A-Za-z]//g'
}

# Whether a build tool's output LOG says dependencies could not be had (Maven's and Leiningen's words for it), rather
# than that the app itself failed to build.
jvm-dependencies-missing() {
    grep -q -E 'Could not (resolve dependencies|transfer artifact|find artifact)|could not be resolved|Non-resolvable|in offline mode' "$1"
}
