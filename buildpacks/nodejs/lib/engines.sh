# shellcheck shell=bash
# package.json's engines.node read as the Node.js buildpack reads it: the common forms of a version range, each a
# version prefix and a lowest version. Sourced by bin/compile (it needs common.sh's fail).
#
#   engines.node         prefix    lowest     takes
#   (none), *, x         -         -          the newest served
#   20, 20.x, 20.*       20        -          the newest 20.x
#   20.11, 20.11.x       20.11     -          the newest 20.11.x
#   20.11.1, =v20.11.1   20.11.1   -          exactly 20.11.1
#   ^20.11, ^20.11.1     20        20.11      the newest 20.x from 20.11 on
#   ~20.11, ~20.11.1     20.11     20.11.1    the newest 20.11.x from 20.11.1 on
#   >=18, >=18.19.1      -         18.19.1    the newest from 18.19.1 on

# node-version-request RANGE: prints "PREFIX LOWEST" ("-" for none) for RANGE, or stops the build naming the form.
node-version-request() {
    local range="$1" number='(0|[1-9][0-9]*)' wild='(\.[xX*])?' op="" trimmed version
    # Spaces around the range and after its operator (">= 18") are allowed; any other makes it a compound range.
    trimmed="$(sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//; s/^(>=|\^|~|=)[[:space:]]+/\1/' <<<"$range")"
    if [[ -z "$trimmed" || "$trimmed" =~ ^[xX*]$ ]]; then
        echo "- -"
        return
    fi
    if [[ "$trimmed" =~ ^(\>=|\^|~|=)(.*)$ ]]; then
        op="${BASH_REMATCH[1]}"
        trimmed="${BASH_REMATCH[2]}"
    fi
    trimmed="${trimmed#v}"
    # One to three numbers, then wildcards for the rest (20.x, 20.x.x, 20.11.x): one range, no spaces, no ||.
    if [[ ! "$trimmed" =~ ^$number(\.$number)?(\.$number)?$wild$wild$ ]]; then
        fail "package.json's engines.node is '$range', a form this server does not read: write a version such as 24, 24.x, ^24.11, ~24.11.1, >=22 or 24.11.1 there."
    fi
    version="${trimmed%%[.][xX*]*}"
    case "$op" in
    "" | =) echo "$version -" ;;
    ^) echo "${version%%.*} $version" ;;
    "~")
        if [[ "$version" == *.* ]]; then
            echo "$(cut -d. -f1,2 <<<"$version") $version"
        else
            echo "$version -"
        fi
        ;;
    ">=") echo "- $version" ;;
    esac
}

# node-newest-version PREFIX LOWEST: prints the first of the versions on stdin (newest first) that has PREFIX
# ("-": any) and is not older than LOWEST ("-": any), or nothing.
node-newest-version() {
    local prefix="$1" lowest="$2" version
    [[ "$prefix" == - ]] && prefix=""
    while read -r version; do
        [[ -n "$version" ]] || continue
        [[ -z "$prefix" || "$version" == "$prefix" || "$version" == "$prefix".* ]] || continue
        if [[ "$lowest" != - && "$(printf '%s\n%s\n' "$lowest" "$version" | sort -V | head -n 1)" != "$lowest" ]]; then
            continue
        fi
        echo "$version"
        return
    done
}
