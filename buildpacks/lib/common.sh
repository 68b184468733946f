# shellcheck shell=bash
# Helpers shared by this buildpack's scripts: Heroku's output format and loading config vars.
# Sourced, not run: the calling script sets the shell options.

# Config vars the build must never take from the app: they would hijack the tools or the shell running them.
DENIED_CONFIG_VARS='^(PATH|GIT_DIR|CPATH|CPPATH|LD_PRELOAD|LIBRARY_PATH|LD_LIBRARY_PATH|PYTHONHOME|HOME|IFS|ENV|BASH_ENV|CDPATH|PS4|SHELLOPTS|BASHOPTS)$'

# Heroku's log format: a step stands out with an arrow, so the user can follow the build at a glance.
step() {
    echo "-----> $*"
}

# Tool output sits under its step, 7 spaces in; `sed -u` passes each line on at once, so the user sees it live.
indent() {
    sed -u 's/^/       /'
}

# Something the user should know about but that does not stop the build.
warn() {
    local line
    for line in "$@"; do
        echo " !     $line" >&2
    done
}

# Stops the build: the first line says what happened, the next ones what to do about it.
fail() {
    warn "$@"
    exit 1
}

# Exporting over a readonly shell variable (UID, PPID, ...) kills bash outright, even inside `|| true`.
is-readonly() {
    [[ "$(declare -p "$1" 2>/dev/null)" =~ ^declare\ -[a-zA-Z]*r ]]
}

# Config vars (one file per var in ENV_DIR) may tune the build, such as PIP_INDEX_URL; values are never evaluated.
load-env-dir() {
    local env_dir="$1" file name
    [[ -d "$env_dir" ]] || return 0
    for file in "$env_dir"/*; do
        [[ -f "$file" ]] || continue
        name="${file##*/}"
        [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
        [[ "$name" =~ $DENIED_CONFIG_VARS ]] && continue
        is-readonly "$name" && continue
        export "$name=$(cat -- "$file")"
    done
}
