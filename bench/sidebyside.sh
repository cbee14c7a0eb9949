#!/usr/bin/env bash
# Black-box, side-by-side comparison of resource servers (see
# sidebyside/main.go): bearerguard's net/http example, golang-jwt+keyfunc,
# auth0/go-jwt-middleware and jwx, each a real HTTP server in its own process
# on 127.0.0.1, driven in interleaved rounds. Takes about 4 minutes on 2
# cores with the defaults, then replaces the "Black box, side by side"
# section of RESULTS.md and writes sidebyside-raw.txt. By default each
# target runs on a CPU of its own and the load driver on another; with
# -layout shared both use every CPU, and the run fills its own section and
# sidebyside-shared-raw.txt.
#
#   bash sidebyside.sh                      # the full run
#   bash sidebyside.sh -layout shared       # driver and target sharing the cores
#   bash sidebyside.sh -rounds 3 -conns 16  # any sidebyside flag
#   bash sidebyside.sh -smoke               # seconds; prints, writes nothing (for CI)
#
# run.sh keeps these sections when it rewrites the rest of RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/sidebyside" ./sidebyside

args=("$@")
raw=sidebyside-raw.txt
prev=
for a in "$@"; do
  case "$a" in -layout=shared|--layout=shared) raw=sidebyside-shared-raw.txt ;; esac
  case "$prev" in -layout|--layout) [ "$a" = shared ] && raw=sidebyside-shared-raw.txt ;; esac
  prev=$a
done
write=(-results RESULTS.md -raw "$raw")
for a in "$@"; do
  case "$a" in -smoke|--smoke|-smoke=true|--smoke=true) write=() ;; esac
done
# The binary bounds itself (-timeout, 15 min by default); timeout(1) is a
# second fence.
timeout --kill-after=10s 20m "$bin/sidebyside" -label "bash sidebyside.sh${*:+ $*}" "${write[@]}" "${args[@]}"
