#!/bin/sh
# run-tests.sh - run every unit test binary and the integration suite,
# echo their TAP output and finish with one line "N passed, N failed".
#
# Called by `make check` as:
#   BUILD=build PYTHON=python3 SANITIZE= sh tests/run-tests.sh
# Exit status: 0 when nothing failed, 1 otherwise.

BUILD=${BUILD:-build}
PYTHON=${PYTHON:-python3}
SANITIZE=${SANITIZE:-}
CMOCKA_MESSAGE_OUTPUT=TAP
export CMOCKA_MESSAGE_OUTPUT

if [ -n "$SANITIZE" ]; then
	# Leaks must be reported, and UBSan must stop at the first finding so
	# that the integration harness sees it in the collector's stderr.
	ASAN_OPTIONS=abort_on_error=0:detect_leaks=1
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	export ASAN_OPTIONS UBSAN_OPTIONS
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/pga-run-tests.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM

passed=0
failed=0

# tally OUTPUT_FILE STATUS LABEL - add the ok / not ok lines of one TAP
# producer to the totals.  A producer that exits non-zero without a single
# "not ok" (a crash, a sanitizer abort, a missing interpreter) still counts
# as one failure, so nothing can fail silently.
tally() {
	ok_lines=$(grep -c '^ok ' "$1" || true)
	not_ok_lines=$(grep -c '^not ok ' "$1" || true)
	if [ "$2" -ne 0 ] && [ "$not_ok_lines" -eq 0 ]; then
		echo "not ok - $3 exited with status $2 without reporting a failure"
		not_ok_lines=1
	fi
	passed=$((passed + ok_lines))
	failed=$((failed + not_ok_lines))
}

# run_tap LABEL COMMAND... - run one TAP producer, echoing its output as
# it comes, then tally it.
run_tap() {
	label=$1
	shift
	echo "# $label"
	{ "$@" 2>&1; echo $? > "$scratch/status"; } | tee "$scratch/output"
	tally "$scratch/output" "$(cat "$scratch/status")" "$label"
}

for unit in "$BUILD"/tests/unit/test_*; do
	[ -f "$unit" ] && [ -x "$unit" ] || continue
	run_tap "$unit" "$unit"
done

run_tap "integration" "$PYTHON" tests/integration/run.py --build "$BUILD"
run_tap "test receiver" "$PYTHON" tests/receiver/selftest.py

echo "$passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
	exit 1
fi
exit 0
