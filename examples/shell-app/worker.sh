#!/usr/bin/env bash
# A stand-in background worker: says it is alive once a minute, until it is stopped.
set -euo pipefail

while true; do
    echo "worker: alive at $(date -u +%H:%M:%S)"
    sleep 60
done
