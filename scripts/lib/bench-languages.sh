# shellcheck shell=bash
# shellcheck disable=SC2154 # $work, $server, $bench_user…: scripts/bench, which sources this file, sets them
# The languages goal of scripts/bench (sourced by it; uses measure, alternate, note, fail and $work, $repo_dir): each
# language example built by slugc with no network (unshare -rn) from a runtime store made here
# (scripts/runtime-store): the build after a one-line change with the app's build cache from its previous build
# (ours), vs the app's first build, with an empty build cache (the baseline; the server's runtime cache already
# holds the runtime, as on a server that built that language before); a rebuild of a slug carrying its runtime must
# say it reused the runtime's compressed bytes. In unshare's user namespace root cannot hand
# the build to another user, so buildpacks run as this user (SLIPWAY_BUILD_USER=), still sandboxed.
#
#   languages  Go, Ruby, Java, Clojure, PHP and Node.js: rebuild after a one-line change vs first build (>= 3x faster)

languages_examples=(go-app ruby-app java-app clojure-app php-app node-app)

bench-languages() {
  echo "-----> languages: each language example rebuilt after a one-line change vs its first build"
  local store="$work/runtime-store"
  "$repo_dir/scripts/runtime-store" "$store" go ruby java php nodejs >/dev/null ||
    fail "languages: scripts/runtime-store failed" \
      "Run it alone to see why: scripts/runtime-store $store go ruby java php nodejs"
  lang_store="file://$store"
  for lang_example in "${languages_examples[@]}"; do
    lang_app="$work/lang-$lang_example"
    rm -rf "$lang_app" "$work/lang-cache-$lang_example"
    cp -R "$repo_dir/examples/$lang_example" "$lang_app"
    alternate "languages-${lang_example%-app}" languages-ours languages-baseline
  done
}

# The build of the example with the build cache $1, with no network.
languages-build() {
  unshare -rn env SLIPWAY_BUILD_USER= "$work/install/bin/slugc" build "$lang_app" -o "$work/outputs/languages" --cache-dir "$1" \
    --runtime-store "$lang_store" --runtime-cache "$work/runtime-cache"
}

# A one-line change to the example's source: a comment naming the run.
languages-change() {
  case "$lang_example" in
    go-app) echo "// change $1" >>"$lang_app/main.go" ;;
    ruby-app) echo "# change $1" >>"$lang_app/config.ru" ;;
    java-app) echo "// change $1" >>"$lang_app/src/main/java/com/example/App.java" ;;
    clojure-app) echo ";; change $1" >>"$lang_app/src/clojure_app/core.clj" ;;
    php-app) echo "// change $1" >>"$lang_app/src/Greeting.php" ;;
    node-app) echo "// change $1" >>"$lang_app/server.js" ;;
  esac
}

languages-ours() {
  local cache="$work/lang-cache-$lang_example"
  [ -d "$cache" ] || languages-build "$cache" >/dev/null 2>&1 ||
    fail "languages: the first build of $lang_example failed" "Run slugc build $lang_app to see why."
  languages-change "$1"
  measure "languages-${lang_example%-app}" ours "$1" unshare -rn env SLIPWAY_BUILD_USER= "$work/install/bin/slugc" build "$lang_app" \
    -o "$work/outputs/languages" --cache-dir "$cache" --runtime-store "$lang_store" \
    --runtime-cache "$work/runtime-cache"
  # A slug that carries its runtime must have reused the runtime's compressed bytes from the build before.
  if [ "$lang_example" != go-app ] && ! grep -q '^       Reused the compressed app/.heroku/' "$work/last.out"; then
    fail "languages: the rebuild of $lang_example reused no compressed folder of its first build" \
      "Run slugc build twice on $lang_app: the second should say 'Reused the compressed app/.heroku/...'."
  fi
}

languages-baseline() {
  rm -rf "$work/lang-cache-first"
  measure "languages-${lang_example%-app}" baseline "$1" unshare -rn env SLIPWAY_BUILD_USER= "$work/install/bin/slugc" build "$lang_app" \
    -o "$work/outputs/languages" --cache-dir "$work/lang-cache-first" --runtime-store "$lang_store" \
    --runtime-cache "$work/runtime-cache"
}
