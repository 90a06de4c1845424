#!/usr/bin/env bash
# The flake check of issue 32: the whole `make test` pytest suite RUNS times in a row, in parallel
# (pytest-xdist, WORKERS workers), each run under the suite-wide per-test timeout. Prints one line
# per run (passed/failed counts, wall time, load average) and exits non-zero if any run failed.
#
#   scripts/repeat_suite.sh            # 5 runs with -n 2
#   RUNS=3 WORKERS=4 scripts/repeat_suite.sh
#
# Run `make sam-build model-install` first (make test does): the SAM and model-chain tests need them.
# Each run's full output stays in $LOGS (default: a new temporary folder) for the failing tests' logs.
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
WORKERS="${WORKERS:-2}"
RUN_TIMEOUT="${RUN_TIMEOUT:-1800}"
LOGS="${LOGS:-$(mktemp -d -t tryon-repeat-suite-XXXXXX)}"
mkdir -p "$LOGS"
export POWERTOOLS_TRACE_DISABLED=true POWERTOOLS_SERVICE_NAME=tryon POWERTOOLS_METRICS_NAMESPACE=TryOn
failed_runs=0
# What a serial run would select: a parallel run that runs fewer tests (a distribution mode keyed by
# node id merges items that share one) counts as failed.
selected=$(.venv/bin/python -m pytest --collect-only -q -p no:cacheprovider -m "not slow" --ignore=tests/browser 2>/dev/null \
    | tail -1 | grep -oE '^[0-9]+')
echo "$(date -u +%FT%TZ) ${RUNS} runs of ${selected} tests, -n ${WORKERS}, logs in ${LOGS}, $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq 1 "$RUNS"); do
    log="${LOGS}/run-${run}.txt"
    started=$(date +%s)
    timeout "$RUN_TIMEOUT" .venv/bin/python -m pytest -q -p no:cacheprovider -m "not slow" --ignore=tests/browser \
        -n "$WORKERS" --dist load --durations=10 >"$log" 2>&1
    status=$?
    seconds=$(( $(date +%s) - started ))
    summary=$(grep -E '(passed|failed|error).* in [0-9.]+s' "$log" | tail -1 | tr -d '=')
    echo "run ${run}: exit ${status}, ${seconds} s, load $(cut -d' ' -f1-3 /proc/loadavg):${summary:- no summary (see ${log})}"
    passed=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
    if [ "$status" -eq 0 ] && [ "${passed:-0}" != "$selected" ]; then
        echo "    ${passed:-0} passed, but ${selected} were selected: some tests did not run"
        status=1
    fi
    if [ "$status" -ne 0 ]; then
        failed_runs=$((failed_runs + 1))
        grep -E '^(FAILED|ERROR) ' "$log" | sed 's/^/    /'
    fi
done
echo "${failed_runs} of ${RUNS} runs failed"
[ "$failed_runs" -eq 0 ]
