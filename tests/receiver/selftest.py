#!/usr/bin/env python3
"""selftest.py - prove that the test receiver and the per-run certificates
do what the collector's tests will rely on, using Python's own TLS client.

Makes a fresh PKI with make-certs.sh in a temporary directory, starts
receiver.py (and a few variants: TLS 1.2 only, wrong CA, wrong host name,
expired certificate), and checks every endpoint, the JWT and signature
rules and each fault mode.  Prints TAP; exits 1 when a check failed.

The JWT and signature code below is written again on purpose rather than
imported from receiver.py, so that a bug there cannot hide itself.

Python 3 standard library only.  Nothing asserts how long something took.
"""

import base64
import gzip
import hashlib
import hmac
import http.client
import json
import os
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_CERTS = os.path.join(HERE, "make-certs.sh")
RECEIVER = os.path.join(HERE, "receiver.py")

# Guards against hangs only; never asserted on.
START_TIMEOUT_SECONDS = 20
REQUEST_TIMEOUT_SECONDS = 20

SECRET = b"selftest-hmac-secret"
REGISTRATION_SECRET = b"selftest-registration-secret"

KEY_FILES = ("ca", "server", "client", "other-ca", "wrong-ca-server",
             "wrong-host-server", "expired-server", "client-soon", "mismatch")
CERT_FILES = ("ca", "server", "client", "other-ca", "wrong-ca-server",
              "wrong-host-server", "expired-server", "client-soon")


class Failure(AssertionError):
    """A check failed; the message says what was expected and what came."""


def check(condition, message):
    """Fail the current test with `message` unless `condition` holds."""
    if not condition:
        raise Failure(message)


def check_equal(got, expected, what):
    """Fail unless got == expected, showing both."""
    check(got == expected, "%s: expected %r, got %r" % (what, expected, got))


# ---------------------------------------------------------- JWT, signature

def b64url(data):
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    """Inverse of b64url()."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_jwt(claims, key=SECRET, header=None):
    """An HS256 JWT (or whatever `header` says) signed with `key`."""
    header = header or {"alg": "HS256", "typ": "JWT"}
    signing_input = (b64url(json.dumps(header).encode()) + "."
                     + b64url(json.dumps(claims).encode()))
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def access_claims(collector_id, lifetime=3600, now=None):
    """The claims DESIGN.md lists for an access token."""
    now = int(time.time()) if now is None else now
    return {"sub": collector_id, "collector_id": collector_id,
            "hostname": "db1", "type": "access", "iat": now, "nbf": now,
            "exp": now + lifetime}


def verified_claims(token, key=SECRET):
    """The claims of an HS256 token after checking its signature."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    for part in (header_b64, payload_b64, signature_b64):
        check("=" not in part, "JWT part %r is padded" % part)
    header = json.loads(b64url_decode(header_b64))
    check_equal(header.get("alg"), "HS256", "JWT alg")
    expected = hmac.new(key, (header_b64 + "." + payload_b64).encode(),
                        hashlib.sha256).digest()
    check(hmac.compare_digest(b64url_decode(signature_b64), expected),
          "JWT signature does not verify with the secret")
    return json.loads(b64url_decode(payload_b64))


def sign_body(body, key=SECRET):
    """The X-Pganalytics-Signature value for `body`."""
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def envelope(collector_id, seq, types=("pg_stats", "collector")):
    """A minimal valid push envelope."""
    stamp = "2026-11-27T15:10:37.172Z"
    metrics = [{"type": t, "plugin": t, "timestamp": stamp} for t in types]
    return {"collector_id": collector_id, "hostname": "db1",
            "timestamp": stamp, "version": "0.1.0", "seq": seq,
            "metrics_count": len(metrics), "metrics": metrics}


def push_request(token, body, signature=None, content_type="application/json"):
    """Headers and body of a push; the signature defaults to a correct
    one."""
    headers = {"Content-Type": content_type, "Content-Encoding": "gzip",
               "Authorization": "Bearer " + token,
               "X-Pganalytics-Signature": signature or sign_body(body)}
    return headers, body


def gzipped(value):
    """A JSON value, gzip-compressed."""
    return gzip.compress(json.dumps(value).encode())


# ---------------------------------------------------------- processes, TLS

class Receiver:
    """One receiver.py process."""

    def __init__(self, work, certs, name, cert="server", extra=()):
        self.stderr_path = os.path.join(work, name + ".stderr")
        self.state = os.path.join(work, name + "-state")
        command = [sys.executable, RECEIVER,
                   "--cert", os.path.join(certs, cert + ".pem"),
                   "--key", os.path.join(certs, cert + ".key"),
                   "--client-ca", os.path.join(certs, "ca.pem"),
                   "--secret-file", os.path.join(work, "secret"),
                   "--registration-secret-file",
                   os.path.join(work, "registration-secret"),
                   "--state", self.state,
                   "--issue-cert", os.path.join(certs, "client.pem"),
                   "--issue-key", os.path.join(certs, "client.key")]
        command += list(extra)
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                            stderr=stderr)
        self.port, self.control_port = self.read_ports()

    def read_ports(self):
        """The ports from the LISTENING line."""
        ready, _, _ = select.select([self.process.stdout], [], [],
                                    START_TIMEOUT_SECONDS)
        line = self.process.stdout.readline().decode() if ready else ""
        words = line.split()
        if len(words) != 3 or words[0] != "LISTENING":
            self.stop()
            with open(self.stderr_path) as f:
                raise Failure("receiver did not start: stdout %r, stderr %r"
                              % (line, f.read()))
        return int(words[1]), int(words[2])

    def stop(self):
        """Terminate the process and reap it."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=START_TIMEOUT_SECONDS)
        self.process.stdout.close()

    def control(self, method, path, body=None):
        """Call the control API; the decoded JSON answer."""
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.control_port, timeout=REQUEST_TIMEOUT_SECONDS)
        try:
            data = json.dumps(body).encode() if body is not None else None
            connection.request(method, path, body=data)
            response = connection.getresponse()
            answer = json.loads(response.read())
            check(response.status == 200, "control %s %s: %d %r"
                  % (method, path, response.status, answer))
            return answer
        finally:
            connection.close()

    def set_fault(self, mode, **extra):
        """Switch the fault mode."""
        self.control("POST", "/fault", dict(mode=mode, **extra))


def client_context(certs, client="client", version=ssl.TLSVersion.TLSv1_3):
    """A client context trusting the test CA, presenting DIR/client.pem
    (None: no certificate), limited to `version`."""
    context = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
    context.minimum_version = version
    context.maximum_version = version
    if client:
        context.load_cert_chain(os.path.join(certs, client + ".pem"),
                                os.path.join(certs, client + ".key"))
    return context


class Response:
    """What came back: status, headers, raw body and JSON (if any)."""

    def __init__(self, response):
        self.status = response.status
        self.headers = response.headers
        self.raw = response.read()
        try:
            self.json = json.loads(self.raw)
        except ValueError:
            self.json = None

    def code(self):
        """The error code of a {code, message} answer."""
        return self.json.get("code") if isinstance(self.json, dict) else None


def send(connection, method, path, headers=None, body=None):
    """One request on an open connection."""
    connection.request(method, path, body=body, headers=headers or {})
    return Response(connection.getresponse())


def call(suite, method, path, headers=None, body=None, context=None,
         timeout=REQUEST_TIMEOUT_SECONDS, receiver=None):
    """One request on a fresh connection to a receiver (the main one by
    default)."""
    receiver = receiver or suite.receiver
    connection = http.client.HTTPSConnection(
        "localhost", receiver.port, timeout=timeout,
        context=context or suite.context)
    try:
        return send(connection, method, path, headers, body)
    finally:
        connection.close()


def tls_failure(context, port, server_hostname="localhost"):
    """The error a TLS client gets when connecting and sending a request,
    or None when a response arrived."""
    connection = http.client.HTTPSConnection(
        server_hostname, port, timeout=REQUEST_TIMEOUT_SECONDS,
        context=context)
    try:
        connection.request("GET", "/api/v1/config/x")
        connection.getresponse().read()
        return None
    except (OSError, http.client.HTTPException) as e:
        return e
    finally:
        connection.close()


# ------------------------------------------------------------------ suite

class Suite:
    """The certificates, secrets and main receiver shared by the tests."""

    def __init__(self, work):
        self.work = work
        self.certs = os.path.join(work, "certs")
        self.make_certs_status = subprocess.run(
            ["sh", MAKE_CERTS, self.certs], capture_output=True, text=True,
            timeout=START_TIMEOUT_SECONDS)
        for name, value in (("secret", SECRET),
                            ("registration-secret", REGISTRATION_SECRET)):
            path = os.path.join(work, name)
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600),
                      "wb") as f:
                f.write(value + b"\n")
        self.receivers = []
        self.receiver = None
        self.context = None
        self.collector_id = None
        self.token = None

    def start(self, name, **options):
        """Start a receiver that stop_all() will stop."""
        receiver = Receiver(self.work, self.certs, name, **options)
        self.receivers.append(receiver)
        return receiver

    def start_main(self):
        """The default receiver and a client context for it."""
        self.receiver = self.start("main")
        self.context = client_context(self.certs)

    def stop_all(self):
        """Stop every receiver started."""
        for receiver in self.receivers:
            receiver.stop()

    def push(self, body_value, seq=None, token=None, **options):
        """Push an envelope (or any JSON value) gzipped and signed."""
        if seq is not None:
            body_value = envelope(self.collector_id, seq)
        headers, body = push_request(token or self.token, gzipped(body_value),
                                     **options)
        return call(self, "POST", "/api/v1/metrics/push", headers, body)

    def accepted(self, seq):
        """The accepted.jsonl records of the registered collector's seq."""
        return [r for r in self.receiver.control("GET", "/accepted")
                if r["collector_id"] == self.collector_id and r["seq"] == seq]


def openssl(*args):
    """Run openssl; (exit status, stdout + stderr)."""
    result = subprocess.run(("openssl",) + args, capture_output=True,
                            text=True, timeout=START_TIMEOUT_SECONDS)
    return result.returncode, result.stdout + result.stderr


# ------------------------------------------------------ certificate tests

def test_make_certs_writes_every_file(suite):
    check(suite.make_certs_status.returncode == 0, "make-certs.sh failed: %s"
          % suite.make_certs_status.stderr)
    for name in CERT_FILES:
        check(os.path.isfile(os.path.join(suite.certs, name + ".pem")),
              "%s.pem missing" % name)
    for name in KEY_FILES:
        mode = os.stat(os.path.join(suite.certs, name + ".key")).st_mode
        check_equal(oct(mode & 0o777), oct(0o600), "mode of %s.key" % name)


def test_certificates_chain_as_intended(suite):
    ca = os.path.join(suite.certs, "ca.pem")
    for name in ("server", "client", "wrong-host-server", "client-soon"):
        status, output = openssl("verify", "-CAfile", ca,
                                 os.path.join(suite.certs, name + ".pem"))
        check(status == 0, "%s.pem does not chain to ca.pem: %s"
              % (name, output))
    status, output = openssl("verify", "-CAfile", ca, os.path.join(
        suite.certs, "wrong-ca-server.pem"))
    check(status != 0, "wrong-ca-server.pem chains to ca.pem")
    status, output = openssl("verify", "-CAfile", os.path.join(
        suite.certs, "other-ca.pem"), os.path.join(
        suite.certs, "wrong-ca-server.pem"))
    check(status == 0, "wrong-ca-server.pem not signed by other-ca: %s"
          % output)
    status, output = openssl("verify", "-CAfile", ca, os.path.join(
        suite.certs, "expired-server.pem"))
    check(status != 0 and "expired" in output,
          "expired-server.pem is not reported expired: %s" % output)


def expires_within(name, seconds, certs):
    """True when DIR/name.pem expires within `seconds`."""
    status, _ = openssl("x509", "-checkend", str(seconds), "-noout", "-in",
                        os.path.join(certs, name + ".pem"))
    return status != 0


def test_expiry_dates(suite):
    day = 86400
    check(expires_within("client-soon", 8 * day, suite.certs)
          and not expires_within("client-soon", 6 * day, suite.certs),
          "client-soon.pem does not expire in 7 days")
    check(not expires_within("client", 15 * day, suite.certs),
          "client.pem expires within the collector's 14-day warning")


def public_key(path, kind):
    """The PEM public key of a certificate or a private key file."""
    if kind == "cert":
        return openssl("x509", "-in", path, "-pubkey", "-noout")[1]
    return openssl("pkey", "-in", path, "-pubout")[1]


def test_mismatch_key_does_not_match_client_cert(suite):
    cert = public_key(os.path.join(suite.certs, "client.pem"), "cert")
    check_equal(public_key(os.path.join(suite.certs, "client.key"), "key"),
                cert, "client.key's public key")
    check(public_key(os.path.join(suite.certs, "mismatch.key"), "key")
          != cert, "mismatch.key matches client.pem")


# -------------------------------------------------------------- TLS tests

def test_tls13_with_client_certificate(suite):
    suite.start_main()
    response = call(suite, "GET", "/nowhere")
    check_equal(response.status, 404, "status of GET /nowhere")
    last = suite.receiver.control("GET", "/connections")[-1]
    check_equal((last["ok"], last["tls_version"], last["client_cn"]),
                (True, "TLSv1.3", "collector"), "handshake seen by receiver")


def connection_after(suite, before):
    """The receiver's record of the first connection after the first
    `before` ones.  It may record a refused handshake only after the client
    has seen the refusal, so wait for it (bounded)."""
    deadline = time.monotonic() + REQUEST_TIMEOUT_SECONDS
    log = suite.receiver.control("GET", "/connections")
    while len(log) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
        log = suite.receiver.control("GET", "/connections")
    check(len(log) > before, "the receiver recorded no connection")
    return log[before]


def test_tls12_client_refused(suite):
    before = len(suite.receiver.control("GET", "/connections"))
    context = client_context(suite.certs, version=ssl.TLSVersion.TLSv1_2)
    error = tls_failure(context, suite.receiver.port)
    check(error is not None, "a TLS 1.2 client got a response")
    check(not connection_after(suite, before)["ok"],
          "receiver did not record the refused handshake")


def test_client_without_certificate_refused(suite):
    before = len(suite.receiver.control("GET", "/connections"))
    error = tls_failure(client_context(suite.certs, client=None),
                        suite.receiver.port)
    check(error is not None, "a client without certificate got a response")
    last = connection_after(suite, before)
    check(not last["ok"] and "certificate" in last["error"],
          "receiver did not record a missing client certificate: %r" % last)


def test_tls12_only_receiver(suite):
    receiver = suite.start("tls12", extra=["--tls12-only"])
    check(tls_failure(suite.context, receiver.port) is not None,
          "a TLS 1.3-only client got a response from --tls12-only")
    context = client_context(suite.certs, version=ssl.TLSVersion.TLSv1_2)
    check(tls_failure(context, receiver.port) is None,
          "--tls12-only does not speak TLS 1.2")


def check_server_refused(suite, cert, words):
    """A receiver with DIR/cert.pem is refused by a verifying client with
    an error that contains `words`."""
    receiver = suite.start(cert, cert=cert)
    error = tls_failure(suite.context, receiver.port)
    check(isinstance(error, ssl.SSLCertVerificationError) and
          words in str(error),
          "server with %s.pem: expected a verification error about %r, "
          "got %r" % (cert, words, error))


def test_wrong_ca_server_refused(suite):
    check_server_refused(suite, "wrong-ca-server",
                         "unable to get local issuer certificate")


def test_wrong_host_server_refused(suite):
    check_server_refused(suite, "wrong-host-server", "Hostname mismatch")


def test_expired_server_refused(suite):
    check_server_refused(suite, "expired-server", "certificate has expired")


# ---------------------------------------------------------- registration

def register(suite, secret=REGISTRATION_SECRET, body=None):
    """POST /register."""
    body = body or {"name": "selftest", "hostname": "db1",
                    "address": "127.0.0.1", "version": "0.1.0"}
    return call(suite, "POST", "/api/v1/collectors/register",
                {"X-Registration-Secret": secret.decode(),
                 "Content-Type": "application/json"},
                json.dumps(body).encode())


def test_register_wrong_secret(suite):
    response = register(suite, secret=b"wrong")
    check_equal((response.status, response.code()),
                (401, "bad_registration_secret"), "answer")


def test_register_unknown_key(suite):
    response = register(suite, body={"name": "x", "hostname": "y",
                                     "hostnmae": "typo"})
    check_equal((response.status, response.code()), (400, "schema_invalid"),
                "answer")


def test_register(suite):
    response = register(suite)
    check_equal(response.status, 201, "status")
    body = response.json
    check_equal(sorted(body), ["certificate", "collector_id", "expires_at",
                               "private_key", "token"], "keys")
    with open(os.path.join(suite.certs, "client.pem")) as f:
        check_equal(body["certificate"], f.read(), "certificate")
    claims = verified_claims(body["token"])
    check_equal((claims["sub"], claims["collector_id"], claims["type"],
                 claims["hostname"]),
                (body["collector_id"], body["collector_id"], "access", "db1"),
                "claims")
    check_equal(claims["exp"] - claims["iat"], 3600, "token lifetime")
    check(body["expires_at"].endswith("Z"), "expires_at %r not UTC"
          % body["expires_at"])
    suite.collector_id = body["collector_id"]
    suite.token = body["token"]


def test_register_again_keeps_id(suite):
    check_equal(register(suite).json["collector_id"], suite.collector_id,
                "collector_id on re-registration")


# ------------------------------------------------------------------ push

def test_push_accepted_and_recorded(suite):
    response = suite.push(None, seq=1)
    check_equal((response.status, response.json.get("duplicate")),
                (200, False), "answer")
    records = suite.accepted(1)
    check_equal(len(records), 1, "accepted records for seq 1")
    record = records[0]
    check_equal((record["metrics_count"], record["record_types"],
                 record["duplicate"]),
                (2, ["collector", "pg_stats"], False), "record")
    check(record["gzip_ratio"] > 0, "gzip_ratio %r" % record["gzip_ratio"])
    with open(os.path.join(suite.receiver.state, "accepted.jsonl")) as f:
        check_equal(len(f.readlines()), 1, "lines in accepted.jsonl")


def test_push_duplicate_marked(suite):
    response = suite.push(None, seq=1)
    check_equal((response.status, response.json.get("duplicate")),
                (200, True), "answer")
    check_equal([r["duplicate"] for r in suite.accepted(1)], [False, True],
                "duplicate flags for seq 1")


def test_push_with_self_signed_jwt(suite):
    token = make_jwt(access_claims("hmac-collector"))
    headers, body = push_request(token, gzipped(envelope("hmac-collector",
                                                         7)))
    response = call(suite, "POST", "/api/v1/metrics/push", headers, body)
    check_equal(response.status, 200, "status")


def test_push_bad_signature(suite):
    response = suite.push(None, seq=2, signature=sign_body(b"other body"))
    check_equal((response.status, response.code()), (400, "bad_signature"),
                "answer")
    check_equal(suite.accepted(2), [], "records of rejected seq 2")


def test_push_missing_signature(suite):
    headers, body = push_request(suite.token, gzipped(envelope(
        suite.collector_id, 2)))
    del headers["X-Pganalytics-Signature"]
    response = call(suite, "POST", "/api/v1/metrics/push", headers, body)
    check_equal((response.status, response.code()),
                (400, "missing_signature"), "answer")


def test_push_bad_gzip(suite):
    body = json.dumps(envelope(suite.collector_id, 2)).encode()
    headers, body = push_request(suite.token, body)
    response = call(suite, "POST", "/api/v1/metrics/push", headers, body)
    check_equal((response.status, response.code()), (400, "bad_gzip"),
                "answer")


def test_push_bad_json(suite):
    headers, body = push_request(suite.token, gzip.compress(b"{not json"))
    response = call(suite, "POST", "/api/v1/metrics/push", headers, body)
    check_equal((response.status, response.code()), (400, "bad_json"),
                "answer")


def test_push_schema_invalid(suite):
    value = envelope(suite.collector_id, 2)
    value["metrics_count"] = 5
    response = suite.push(value)
    check_equal((response.status, response.code(),
                 response.json.get("details", {}).get("field")),
                (400, "schema_invalid", "metrics_count"), "answer")


def test_push_other_collector_id(suite):
    response = suite.push(envelope("somebody-else", 2))
    check_equal((response.status, response.code()),
                (403, "collector_mismatch"), "answer")


def test_push_wrong_content_type(suite):
    response = suite.push(None, seq=2, content_type="text/plain")
    check_equal((response.status, response.code()),
                (415, "unsupported_media_type"), "answer")


def test_push_bad_tokens(suite):
    now = int(time.time())
    cid = suite.collector_id
    padded = make_jwt(access_claims(cid)).replace(".", "=.", 1)
    refresh_type = dict(access_claims(cid), type="refresh")
    cases = {
        "expired": (make_jwt(access_claims(cid, now=now - 7200)),
                    "token_expired"),
        "not yet valid": (make_jwt(dict(access_claims(cid),
                                        nbf=now + 600)),
                          "token_not_yet_valid"),
        "alg none": (make_jwt(access_claims(cid),
                              header={"alg": "none"}), "bad_token"),
        "wrong key": (make_jwt(access_claims(cid), key=b"guess"),
                      "bad_token"),
        "padded": (padded, "bad_token"),
        "type refresh": (make_jwt(refresh_type), "bad_token"),
        "garbage": ("not-a-jwt", "bad_token"),
    }
    for name, (token, code) in cases.items():
        response = suite.push(None, seq=3, token=token)
        check_equal((response.status, response.code()), (401, code),
                    "answer to a %s token" % name)
        if name == "padded":
            check("padding" in response.json["message"],
                  "message for a padded token: %r" % response.json["message"])
    response = call(suite, "POST", "/api/v1/metrics/push", {}, b"")
    check_equal((response.status, response.code()), (401, "missing_token"),
                "answer without Authorization")
    check_equal(suite.accepted(3), [], "records of seq 3")


# ---------------------------------------------------------------- refresh

def refresh(suite, token):
    """POST /refresh-token with `token`."""
    return call(suite, "POST", "/api/v1/collectors/refresh-token",
                {"Authorization": "Bearer " + token}, b"")


def test_refresh_valid_token(suite):
    response = refresh(suite, suite.token)
    check_equal(response.status, 200, "status")
    claims = verified_claims(response.json["token"])
    check_equal(claims["collector_id"], suite.collector_id, "collector_id")


def test_refresh_recently_expired_token(suite):
    old = make_jwt(access_claims(suite.collector_id,
                                 now=int(time.time()) - 3700))
    check_equal(refresh(suite, old).status, 200, "status")


def test_refresh_unregistered_collector(suite):
    response = refresh(suite, make_jwt(access_claims("stranger")))
    check_equal((response.status, response.code()),
                (401, "unknown_collector"), "answer")


def test_token_ttl_control(suite):
    suite.receiver.control("POST", "/token_ttl", {"seconds": 2})
    claims = verified_claims(refresh(suite, suite.token).json["token"])
    suite.receiver.control("POST", "/token_ttl", {"seconds": 3600})
    check_equal(claims["exp"] - claims["iat"], 2, "lifetime after /token_ttl")


# ----------------------------------------------------------------- config

def get_config(suite, collector_id=None, timeout=REQUEST_TIMEOUT_SECONDS):
    """GET /api/v1/config/{id} with the registered collector's token."""
    return call(suite, "GET", "/api/v1/config/%s"
                % (collector_id or suite.collector_id),
                {"Authorization": "Bearer " + suite.token}, timeout=timeout)


def test_config_missing(suite):
    response = get_config(suite)
    check_equal((response.status, response.code()), (404, "not_found"),
                "answer")


def test_config_overlay(suite):
    overlay = "plugin sysstat {\n  interval = 10\n}\n"
    with open(os.path.join(suite.receiver.state, "config-overlay.conf"),
              "w") as f:
        f.write(overlay)
    response = get_config(suite)
    check_equal((response.status, response.raw.decode(),
                 response.headers.get("X-Config-Version")),
                (200, overlay, "1"), "answer without config-version")
    with open(os.path.join(suite.receiver.state, "config-version"), "w") as f:
        f.write("7\n")
    check_equal(get_config(suite).headers.get("X-Config-Version"), "7",
                "X-Config-Version")


def test_config_of_other_collector(suite):
    response = get_config(suite, collector_id="somebody-else")
    check_equal((response.status, response.code()), (403, "forbidden"),
                "answer")


# ------------------------------------------------------------- request log

def test_keep_alive_and_redacted_log(suite):
    connection = http.client.HTTPSConnection(
        "localhost", suite.receiver.port, timeout=REQUEST_TIMEOUT_SECONDS,
        context=suite.context)
    ports = set()
    try:
        for _ in range(2):
            send(connection, "GET", "/api/v1/config/" + suite.collector_id,
                 {"Authorization": "Bearer " + suite.token})
            ports.add(connection.sock.getsockname()[1])
    finally:
        connection.close()
    check_equal(len(ports), 1, "client ports of two kept-alive requests")
    # The receiver logs a request once its answer is written, so the client
    # may read the answer before the entry exists (and an earlier test's
    # entry may still arrive): wait for this connection's two (bounded).
    deadline = time.monotonic() + REQUEST_TIMEOUT_SECONDS
    while True:
        log = suite.receiver.control("GET", "/requests")
        ours = [entry for entry in log if entry["client_port"] in ports]
        if len(ours) >= 2 or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    check_equal(len(ours), 2, "requests logged for the kept-alive connection")
    text = json.dumps(log)
    check(suite.token not in text and REGISTRATION_SECRET.decode() not in text,
          "a token or secret appears in GET /requests")
    check_equal(ours[-1]["headers"].get("authorization"), "Bearer <redacted>",
                "logged Authorization")


# ----------------------------------------------------------------- faults

def test_fault_500(suite):
    suite.receiver.set_fault("500")
    push = suite.push(None, seq=4)
    config = get_config(suite)
    suite.receiver.set_fault("none")
    check_equal((push.status, push.code(), config.status),
                (500, "internal_error", 500), "answers under fault 500")
    check_equal(suite.accepted(4), [], "records of seq 4")


def test_fault_401_once(suite):
    suite.receiver.set_fault("401_once")
    first = suite.push(None, seq=4)
    second = suite.push(None, seq=4)
    check_equal((first.status, second.status), (401, 200),
                "statuses of two pushes under 401_once")
    check_equal(suite.receiver.control("GET", "/fault")["mode"], "none",
                "mode after the 401")


def test_fault_400(suite):
    suite.receiver.set_fault("400")
    response = suite.push(None, seq=5)
    suite.receiver.set_fault("none")
    check_equal((response.status, response.code()), (400, "schema_invalid"),
                "answer")
    check_equal(suite.accepted(5), [], "records of seq 5")


def test_fault_slow(suite):
    suite.receiver.set_fault("slow", slow_seconds=3)
    try:
        get_config(suite, timeout=0.3)
        timed_out = False
    except (socket.timeout, TimeoutError):
        timed_out = True
    suite.receiver.set_fault("slow", slow_seconds=0.2)
    response = get_config(suite)
    suite.receiver.set_fault("none", slow_seconds=5)
    check(timed_out, "a 0.3 s client did not time out against 3 s slowness")
    check_equal(response.status, 200, "status once the slow answer came")


def test_fault_down(suite):
    connection = http.client.HTTPSConnection(
        "localhost", suite.receiver.port, timeout=REQUEST_TIMEOUT_SECONDS,
        context=suite.context)
    try:
        first = send(connection, "GET", "/nowhere")
        suite.receiver.set_fault("down")
        try:
            send(connection, "GET", "/nowhere")
            kept_alive_answered = True
        except (OSError, http.client.HTTPException):
            kept_alive_answered = False
    finally:
        connection.close()
    new_connection_error = tls_failure(suite.context, suite.receiver.port)
    suite.receiver.set_fault("none")
    after = suite.push(None, seq=6)
    check_equal(first.status, 404, "status before going down")
    check(not kept_alive_answered, "a kept-alive connection got an answer")
    check(new_connection_error is not None, "a new connection got an answer")
    check_equal(after.status, 200, "push after coming back")


def test_fault_invalid_mode(suite):
    connection = http.client.HTTPConnection(
        "127.0.0.1", suite.receiver.control_port,
        timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        connection.request("POST", "/fault", body=b'{"mode": "sometimes"}')
        check_equal(connection.getresponse().status, 400, "status")
    finally:
        connection.close()


def test_restart_remembers_batches(suite):
    suite.receiver.stop()
    suite.receivers.remove(suite.receiver)
    suite.receiver = suite.start("main")
    response = suite.push(None, seq=1)
    check_equal(response.json.get("duplicate"), True,
                "seq 1 after restart is a duplicate")
    check_equal(refresh(suite, suite.token).status, 200,
                "refresh after restart (registration remembered)")


TESTS = [
    test_make_certs_writes_every_file,
    test_certificates_chain_as_intended,
    test_expiry_dates,
    test_mismatch_key_does_not_match_client_cert,
    test_tls13_with_client_certificate,
    test_tls12_client_refused,
    test_client_without_certificate_refused,
    test_tls12_only_receiver,
    test_wrong_ca_server_refused,
    test_wrong_host_server_refused,
    test_expired_server_refused,
    test_register_wrong_secret,
    test_register_unknown_key,
    test_register,
    test_register_again_keeps_id,
    test_push_accepted_and_recorded,
    test_push_duplicate_marked,
    test_push_with_self_signed_jwt,
    test_push_bad_signature,
    test_push_missing_signature,
    test_push_bad_gzip,
    test_push_bad_json,
    test_push_schema_invalid,
    test_push_other_collector_id,
    test_push_wrong_content_type,
    test_push_bad_tokens,
    test_refresh_valid_token,
    test_refresh_recently_expired_token,
    test_refresh_unregistered_collector,
    test_token_ttl_control,
    test_config_missing,
    test_config_overlay,
    test_config_of_other_collector,
    test_keep_alive_and_redacted_log,
    test_fault_500,
    test_fault_401_once,
    test_fault_400,
    test_fault_slow,
    test_fault_down,
    test_fault_invalid_mode,
    test_restart_remembers_batches,
]


def run_test(number, test, suite):
    """Run one test and print its TAP line; True when it passed."""
    name = test.__name__[len("test_"):]
    try:
        test(suite)
    except Failure as e:
        print("not ok %d - %s\n# %s" % (number, name, e))
        return False
    except Exception:  # a crash of the test itself is a failure too
        print("not ok %d - %s" % (number, name))
        for line in traceback.format_exc().splitlines():
            print("# " + line)
        return False
    print("ok %d - %s" % (number, name))
    return True


def main():
    """Run every test in order (later ones build on earlier ones)."""
    print("1..%d" % len(TESTS))
    failed = 0
    with tempfile.TemporaryDirectory(prefix="pga-receiver-selftest.") as work:
        suite = Suite(work)
        try:
            for number, test in enumerate(TESTS, 1):
                if not run_test(number, test, suite):
                    failed += 1
                sys.stdout.flush()
        finally:
            suite.stop_all()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
