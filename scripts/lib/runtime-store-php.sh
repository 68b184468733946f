# shellcheck shell=bash
# The PHP packer of scripts/runtime-store: Debian's php8.x-cli and php8.x-fpm with the extensions installed beside
# them, made relocatable: bin/php and sbin/php-fpm, the extensions in lib/extensions, the shared libraries they load
# beyond the C library's in lib/deps, Debian's production php.ini and the extensions' ini files under etc/ (the
# extension folder named through an environment variable, which php.ini reads), and Debian's Caddy as bin/caddy, the
# web server in front of php-fpm (a static Go binary). env.sh sets PATH, PHPRC, PHP_INI_SCAN_DIR and
# LD_LIBRARY_PATH. Sourced by scripts/runtime-store.

runtime-store-pack-php() {
    local work="$1" php fpm branch version api tree
    for php in /usr/bin/php[0-9].[0-9]; do
        [[ -x "$php" ]] || continue
        branch="${php#/usr/bin/php}"
        fpm="/usr/sbin/php-fpm$branch"
        if [[ ! -x "$fpm" ]]; then
            echo "       php$branch: no php-fpm$branch (apt-get install php$branch-fpm): skipped"
            continue
        fi
        version="$("$php" -n -r 'echo PHP_VERSION;')"
        api="$("$php" -n -r 'echo PHP_EXTENSION_DIR;')"
        tree="$work/php-$version"
        mkdir -p "$tree/bin" "$tree/sbin" "$tree/lib/extensions" "$tree/etc/conf.d"
        cp -L "$php" "$tree/bin/php"
        cp -L "$fpm" "$tree/sbin/php-fpm"
        cp -L "$api"/*.so "$tree/lib/extensions/"
        # The CLI's extension list (the same as php-fpm's), each file dereferenced from mods-available.
        cp -L /etc/php/"$branch"/cli/conf.d/*.ini "$tree/etc/conf.d/"
        {
            echo "; Debian's php.ini-production, with the extension folder wherever the runtime is unpacked."
            sed '/^extension_dir/d' /usr/lib/php/"$branch"/php.ini-production
            # shellcheck disable=SC2016 # for PHP to expand when it reads php.ini
            echo 'extension_dir = "${SLIPWAY_PHP_HOME}/lib/extensions"'
        } >"$tree/etc/php.ini"
        if [[ -x /usr/bin/caddy ]]; then
            cp -L /usr/bin/caddy "$tree/bin/caddy"
        else
            echo "       php$branch: no Caddy (apt-get install caddy): the runtime has no web server"
        fi
        store-bundle-libs "$tree/lib/deps" "$tree/bin/php" "$tree/sbin/php-fpm" "$tree"/lib/extensions/*.so
        cat >"$tree/env.sh" <<'ENV'
# PHP's environment: the runtime where this tree was unpacked (RUNTIME_HOME), its php.ini and extensions' ini files,
# and the libraries it carries.
export SLIPWAY_PHP_HOME="$RUNTIME_HOME"
export PATH="$RUNTIME_HOME/bin:$RUNTIME_HOME/sbin:$PATH"
export PHPRC="$RUNTIME_HOME/etc"
export PHP_INI_SCAN_DIR="$RUNTIME_HOME/etc/conf.d"
export LD_LIBRARY_PATH="$RUNTIME_HOME/lib/deps${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
ENV
        store-add php "$version" "$tree"
        rm -rf "$tree"
    done
}
