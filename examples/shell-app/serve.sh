#!/usr/bin/env bash
# Serves public/ on $PORT with Python's built-in static file server.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/public"
# exec: the server replaces this shell, so the stop signal reaches it directly; -u: log lines go out at once.
exec python3 -u -m http.server "${PORT:?PORT is not set}"
