#!/usr/bin/env bash
# Runs the comparison benchmarks COUNT times (default 8), then benchstat, and
# writes RESULTS.md up to the side-by-side sections, which it keeps. Takes about 10 minutes on 2 cores. Run it on a quiet
# machine; ratios from one run are what RESULTS.md reports.
set -euo pipefail
cd "$(dirname "$0")"
COUNT=${COUNT:-8}
BENCHTIME=${BENCHTIME:-1s}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

go test -count=1 -run TestEveryImplementationAccepts .
go test -run '^$' -bench 'BenchmarkCold$|BenchmarkColdParallel|BenchmarkWarm|BenchmarkMiddleware' \
  -count "$COUNT" -benchtime "$BENCHTIME" . | tee "$out/raw.txt"
go test -run '^$' -bench 'BenchmarkCacheMemory' -count 1 -benchtime 1x . | tee -a "$out/raw.txt"

go run golang.org/x/perf/cmd/benchstat@latest -col /impl "$out/raw.txt" > "$out/benchstat.txt"
go run ./cmd/report "$out/raw.txt" "$out/benchstat.txt" > "$out/results.md"
{
  echo
  echo "## Load test (\`go run ./load -markdown\`: the net/http example in-process, 32 client goroutines on loopback, 5 s per timed scenario)"
  echo
  go run ./load -markdown
} >> "$out/results.md"
# The side-by-side sections (sidebyside.sh's) and the notes after them are
# not this script's: keep them, from their first marker to the end.
if [ -f RESULTS.md ] && grep -q '<!-- sidebyside:begin' RESULTS.md; then
  { echo; sed -n '/<!-- sidebyside:begin/,$p' RESULTS.md; } >> "$out/results.md"
fi
cp "$out/results.md" RESULTS.md
cp "$out/raw.txt" results-raw.txt
echo "wrote RESULTS.md"
