#!/bin/sh
# run-delivery-bench.sh [BUILD] - run BUILD/bench/delivery_bench (default
# BUILD: build) against a real receiver: tests/receiver/receiver.py with
# certificates made for this run, TLS 1.3 and mutual TLS, on 127.0.0.1 only.
# `make bench` runs it.  Needs python3 ($PYTHON) and openssl, like the
# delivery tests.  Extra arguments after BUILD go to delivery_bench (for
# example -n 5000).  Everything is made in one temporary directory, which is
# removed at the end, and the receiver is stopped, also after a failure.
set -eu

build=${1:-build}
if [ $# -gt 0 ]; then shift; fi
src=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
bench=$build/bench/delivery_bench

if [ ! -x "$bench" ]; then
	echo "$0: $bench is missing (make $bench)" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pga-delivery-bench.XXXXXX")
receiver_pid=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$receiver_pid" ]; then
		kill "$receiver_pid" 2>/dev/null || :
		wait "$receiver_pid" 2>/dev/null || :
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

sh "$src/tests/receiver/make-certs.sh" "$work/certs"

# Secret files: mode 0600 from the start (the collector refuses looser ones).
(
	umask 077
	printf '%s\n' "bench-hmac-secret-$$-$(date +%s)" >"$work/secret"
	printf '%s\n' "bench-registration-secret-$$" >"$work/registration.secret"
)
chmod 600 "$work/secret" "$work/registration.secret"

# The receiver prints one line, "LISTENING <tls-port> <control-port>", and
# serves until killed.  Read it through a FIFO: the read returns as soon as
# the line is there, or at end of file if the receiver dies first.
mkfifo "$work/listening"
"$python" "$src/tests/receiver/receiver.py" \
	--cert "$work/certs/server.pem" --key "$work/certs/server.key" \
	--client-ca "$work/certs/ca.pem" \
	--secret-file "$work/secret" \
	--registration-secret-file "$work/registration.secret" \
	--state "$work/receiver" \
	</dev/null >"$work/listening" 2>"$work/receiver.stderr" &
receiver_pid=$!
word='' tls_port='' control_port=''
read -r word tls_port control_port <"$work/listening" || :
if [ "$word" != LISTENING ] || [ -z "$tls_port" ] || [ -z "$control_port" ]; then
	echo "$0: the receiver did not start:" >&2
	cat "$work/receiver.stderr" >&2
	exit 1
fi

# The server certificate names IP:127.0.0.1, so the URL needs no resolver.
status=0
"$bench" -w "$work" \
	-u "https://127.0.0.1:$tls_port" -p "$control_port" \
	-a "$work/certs/ca.pem" -c "$work/certs/client.pem" -k "$work/certs/client.key" \
	-s "$work/secret" -g "$work/registration.secret" "$@" || status=$?
if [ "$status" -ne 0 ] && [ -s "$work/receiver.stderr" ]; then
	echo "$0: receiver stderr:" >&2
	cat "$work/receiver.stderr" >&2
fi
exit "$status"
