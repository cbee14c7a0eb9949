#!/usr/bin/env bash
# Runs the comparison benchmarks COUNT times (default 8), then benchstat, and
# writes RESULTS.md. Takes about 10 minutes on 2 cores. Run it on a quiet
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
go run ./cmd/report "$out/raw.txt" "$out/benchstat.txt" > RESULTS.md
{
  echo
  echo "## Load test (\`go run ./load -markdown\`: the net/http example in-process, 32 client goroutines on loopback, 5 s per timed scenario)"
  echo
  go run ./load -markdown
} >> RESULTS.md
cp "$out/raw.txt" results-raw.txt
echo "wrote RESULTS.md"
