#!/bin/sh
# make-certs.sh DIR - generate the throw-away PKI of one test run into DIR
# with the openssl command-line tool.  Nothing here is used by the product
# (which never links OpenSSL); the certificates only feed tests/receiver/.
#
# Files written (every key EC P-256, mode 0600):
#   ca.pem ca.key                         the test CA
#   server.pem server.key                 CN localhost, SAN DNS:localhost IP:127.0.0.1
#   client.pem client.key                 CN collector, signed by the CA
#   other-ca.pem other-ca.key             an unrelated CA
#   wrong-ca-server.pem .key              server cert for localhost signed by other-ca
#   wrong-host-server.pem .key            server cert for DNS:wrong.example only
#   expired-server.pem .key               server cert valid 2020-01-01..2020-01-02
#   client-soon.pem client-soon.key       client cert that expires in 7 days
#   mismatch.key                          a key that does not match client.pem
#
# DIR is created when missing; existing files of the same names are
# replaced.  Exit status 0 on success, 1 with a message on stderr otherwise.
set -eu

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 DIR" >&2
	exit 1
fi
dir=$1

if ! command -v openssl >/dev/null 2>&1; then
	echo "$0: the openssl command is needed to make test certificates (tools/install-deps installs it)" >&2
	exit 1
fi

# Keys must never be readable by others, not even for the instant between
# creating a file and chmod-ing it.
umask 077
mkdir -p "$dir"
work=$(mktemp -d "${TMPDIR:-/tmp}/pga-make-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Long enough to outlive any test run, and past the collector's 14-day
# expiry warning so that only client-soon.pem triggers it.
VALID_DAYS=365
SOON_DAYS=7

# run WHAT COMMAND... - run an openssl command quietly; on failure show
# what it printed and which certificate it was making, then stop.
run() {
	what=$1
	shift
	if ! "$@" >"$work/output" 2>&1; then
		echo "$0: making $what failed: $*" >&2
		cat "$work/output" >&2
		exit 1
	fi
}

cat >"$work/openssl.cnf" <<'CNF'
[ req ]
distinguished_name = req_dn
prompt = no

[ req_dn ]

[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ server_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ wrong_host_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

# Only for the expired certificate: "openssl ca" is the one OpenSSL 3.0
# command that accepts explicit start and end dates.
[ ca ]
default_ca = dated_ca

[ dated_ca ]
database = $ENV::PGA_CA_DIR/index.txt
new_certs_dir = $ENV::PGA_CA_DIR
serial = $ENV::PGA_CA_DIR/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none

[ policy_any ]
commonName = supplied
CNF
PGA_CA_DIR=$work
export PGA_CA_DIR
: >"$work/index.txt"
echo 1000 >"$work/serial"

# new_key NAME - a fresh EC P-256 private key in DIR/NAME.key.
new_key() {
	run "key $1.key" openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$dir/$1.key"
	chmod 600 "$dir/$1.key"
}

# make_ca NAME CN - a self-signed CA certificate DIR/NAME.pem and its key.
make_ca() {
	new_key "$1"
	run "$1.pem" openssl req -x509 -new -config "$work/openssl.cnf" -extensions ca_ext \
		-key "$dir/$1.key" -subj "/CN=$2" -days "$VALID_DAYS" -sha256 \
		-out "$dir/$1.pem"
}

# make_leaf NAME CN EXTENSIONS CA DAYS SERIAL - DIR/NAME.pem and its key,
# signed by DIR/CA.pem.
make_leaf() {
	new_key "$1"
	run "$1.pem" openssl req -x509 -new -config "$work/openssl.cnf" -extensions "$3" \
		-key "$dir/$1.key" -subj "/CN=$2" -days "$5" -sha256 -set_serial "$6" \
		-CA "$dir/$4.pem" -CAkey "$dir/$4.key" -out "$dir/$1.pem"
}

# make_expired_leaf NAME CN - a server certificate for localhost, signed by
# the test CA, valid only on 2020-01-01.
make_expired_leaf() {
	new_key "$1"
	run "$1 request" openssl req -new -config "$work/openssl.cnf" \
		-key "$dir/$1.key" -subj "/CN=$2" -out "$work/$1.csr"
	run "$1.pem" openssl ca -batch -notext -config "$work/openssl.cnf" \
		-cert "$dir/ca.pem" -keyfile "$dir/ca.key" -in "$work/$1.csr" \
		-startdate 20200101000000Z -enddate 20200102000000Z \
		-extfile "$work/openssl.cnf" -extensions server_ext -out "$dir/$1.pem"
}

make_ca ca "pganalytics test CA"
make_ca other-ca "unrelated test CA"
make_leaf server localhost server_ext ca "$VALID_DAYS" 1
make_leaf client collector client_ext ca "$VALID_DAYS" 2
make_leaf wrong-ca-server localhost server_ext other-ca "$VALID_DAYS" 3
make_leaf wrong-host-server wrong.example wrong_host_ext ca "$VALID_DAYS" 4
make_leaf client-soon collector client_ext ca "$SOON_DAYS" 5
make_expired_leaf expired-server localhost
new_key mismatch

chmod 644 "$dir"/*.pem
