# shellcheck shell=bash
# The Ruby packer of scripts/runtime-store: Debian's ruby (ruby3.x, with its standard library, extensions, default
# gems, RubyGems and Bundler) made relocatable: the interpreter and the shared libraries it and its extensions load
# beyond the C library in RUNTIME_HOME/lib, and an env.sh that points RUBYLIB, GEM_PATH and LD_LIBRARY_PATH there
# (Debian builds Ruby for /usr; these variables take its place). Sourced by scripts/runtime-store.
# Needs: apt-get install ruby (scripts/setup --tests).

runtime-store-pack-ruby() {
    local work="$1" binary version api tree arch
    for binary in /usr/bin/ruby3.*; do
        [[ -x "$binary" ]] || continue
        version="$("$binary" -e 'print RUBY_VERSION')"
        api="$("$binary" -e 'print RbConfig::CONFIG["ruby_version"]')"
        arch="$("$binary" -e 'print RbConfig::CONFIG["arch"]')"
        tree="$work/ruby-$version"
        mkdir -p "$tree/bin" "$tree/lib/ruby/gems"
        cp -L "$binary" "$tree/bin/ruby"
        # RubyGems writes #!/usr/bin/env ruby3.x into the commands it installs (Debian's install name).
        ln -s ruby "$tree/bin/${binary##*/}"
        cp -rL "/usr/lib/ruby/$api" "$tree/lib/ruby/$api"
        cp -rL "/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)/ruby/$api" "$tree/lib/ruby/$api/$arch" 2>/dev/null ||
            cp -rL "/usr/lib/x86_64-linux-gnu/ruby/$api" "$tree/lib/ruby/$api/$arch"
        runtime-store-ruby-vendor "${binary##*/}" "$tree/lib/ruby/vendor_ruby"
        cp -rL "/usr/lib/ruby/gems/$api" "$tree/lib/ruby/gems/$api"
        rm -rf "$tree/lib/ruby/gems/$api/doc" "$tree/lib/ruby/gems/$api/cache"
        mkdir -p "$tree/lib/ruby/vendor_ruby/rubygems/defaults"
        runtime-store-ruby-defaults >"$tree/lib/ruby/vendor_ruby/rubygems/defaults/operating_system.rb"
        # gem, bundle and bundler, run by the ruby found on PATH (this one at run time).
        runtime-store-ruby-script gem 'require "rubygems/gem_runner"; Gem::GemRunner.new.run ARGV.clone' >"$tree/bin/gem"
        runtime-store-ruby-script bundle 'require "bundler"; require "bundler/friendly_errors"
Bundler.with_friendly_errors { require "bundler/cli"; Bundler::CLI.start(ARGV, debug: true) }' >"$tree/bin/bundle"
        cp "$tree/bin/bundle" "$tree/bin/bundler"
        chmod 755 "$tree"/bin/*
        local -a extensions
        mapfile -t extensions < <(find "$tree/lib/ruby/$api/$arch" -name '*.so')
        store-bundle-libs "$tree/lib" "$tree/bin/ruby" "${extensions[@]}"
        cat >"$tree/env.sh" <<ENV
# Ruby's environment: Debian's ruby $version, unpacked at RUNTIME_HOME instead of /usr.
export PATH="\$RUNTIME_HOME/bin:\$PATH"
export LD_LIBRARY_PATH="\$RUNTIME_HOME/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export RUBYLIB="\$RUNTIME_HOME/lib/ruby/vendor_ruby:\$RUNTIME_HOME/lib/ruby/$api:\$RUNTIME_HOME/lib/ruby/$api/$arch\${RUBYLIB:+:\$RUBYLIB}"
export GEM_PATH="\$RUNTIME_HOME/lib/ruby/gems/$api\${GEM_PATH:+:\$GEM_PATH}"
ENV
        store-add ruby "$version" "$tree"
    done
}

# Copies into DEST what Debian's vendor_ruby holds of Ruby itself (RUBY is ruby3.x): the files of libruby, RubyGems,
# Bundler and the packages Ruby depends on (rake, webrick…), never those of other ruby-* packages this machine has
# (ruby-sprockets, ruby-tilt…): RUBYLIB puts vendor_ruby before every gem, so one of those would shadow the version an
# app's Gemfile.lock pins, and the runtime would carry whatever the packing machine happened to install.
runtime-store-ruby-vendor() {
    local ruby="$1" dest="$2" entry owners owner
    local -A own=([${ruby}]=1 [lib${ruby}]=1 [ruby-rubygems]=1 [ruby-bundler]=1 [rubygems-integration]=1)
    for owner in $(dpkg-query -W -f='${Depends}\n' "$ruby" "lib$ruby" 2>/dev/null |
        tr ',|' '\n' | sed -E 's/^[[:space:]]*([^[:space:](]+).*/\1/; s/:any$//'); do
        own[$owner]=1
    done
    mkdir -p "$dest"
    [[ -d /usr/lib/ruby/vendor_ruby ]] || return 0
    for entry in /usr/lib/ruby/vendor_ruby/*; do
        owners="$(dpkg-query -S "$entry" 2>/dev/null | sed -nE '1{s/: .*//; s/:[a-z0-9]+(,|$)/\1/g; s/,/ /g; p}')"
        for owner in $owners; do
            if [[ -n "${own[$owner]:-}" ]]; then
                cp -rL "$entry" "$dest/"
                break
            fi
        done
    done
}

# RubyGems' defaults for a Ruby that lives wherever its tree is unpacked: its default gems (Bundler among them) and
# their commands are found there, never in /usr or /var/lib/gems (Debian's defaults, replaced here).
runtime-store-ruby-defaults() {
    cat <<'RUBY'
# Written by Slipway's runtime store packer: this Ruby lives in the tree holding this file, not in /usr.
class << Gem
  SLIPWAY_RUBY_HOME = File.expand_path("../../../../..", __dir__)

  def default_dir
    File.join(SLIPWAY_RUBY_HOME, "lib", "ruby", "gems", RbConfig::CONFIG["ruby_version"])
  end

  def default_specifications_dir
    File.join(default_dir, "specifications", "default")
  end

  def default_bindir
    File.join(SLIPWAY_RUBY_HOME, "bin")
  end

  def default_path
    [default_dir]
  end

  def ruby
    File.join(SLIPWAY_RUBY_HOME, "bin", "ruby")
  end
end
RUBY
}

# A small Ruby program NAME running CODE, with a shebang that finds ruby on PATH.
runtime-store-ruby-script() {
    printf '#!/usr/bin/env ruby\n# %s, from the Ruby runtime store packer.\n%s\n' "$1" "$2"
}
