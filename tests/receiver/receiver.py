#!/usr/bin/env python3
"""A real pgAnalytics backend for the tests and the demo: HTTPS with TLS 1.3
and mutual TLS, the four endpoints of DESIGN.md "Backend API", and faults
that can be switched on while it runs.

It shares no code with the collector on purpose: TLS is Python's ssl module
(OpenSSL underneath, where the collector uses GnuTLS), and JWT, HMAC and
gzip are checked with hmac, hashlib, base64 and gzip, so a test that passes
proves the two sides agree on the wire, not that one library agrees with
itself.

    receiver.py --cert server.pem --key server.key --client-ca ca.pem
                --secret-file F --registration-secret-file F --state DIR
                [--tls12-only] [--port N] [--control-port N]
                [--issue-cert PEM --issue-key PEM]
                [--signature-key secret|token]
                [--refresh-grace SECONDS] [--verbose]

Prints exactly one line on stdout, "LISTENING <tls-port> <control-port>",
then serves until killed.  Both ports are on 127.0.0.1 only.  See README.md
next to this file for the rules it enforces and the control API.

Python 3 standard library only.
"""

import argparse
import base64
import datetime
import gzip
import hashlib
import hmac
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOOPBACK = "127.0.0.1"

# A client that opens a TCP connection and never finishes the handshake
# must not hold a worker thread forever.
HANDSHAKE_TIMEOUT_SECONDS = 10
# How long an idle keep-alive connection stays open.
IDLE_TIMEOUT_SECONDS = 60
# Larger request bodies are refused with 413 (payloads are far smaller).
MAX_BODY_BYTES = 64 * 1024 * 1024

DEFAULT_TOKEN_TTL_SECONDS = 3600
DEFAULT_REFRESH_GRACE_SECONDS = 3600
DEFAULT_SLOW_SECONDS = 5.0

FAULT_MODES = ("none", "down", "500", "401_once", "slow", "400")

RECORD_TYPE_RE = re.compile(r"^[a-z0-9_]+$")
RFC3339_RE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
BASE64URL_RE = re.compile(r"^[A-Za-z0-9_-]*$")
SIGNATURE_RE = re.compile(r"^sha256=[0-9a-f]{64}$")

# Header values that must never appear in the request log.
REDACTED_HEADERS = ("authorization", "x-registration-secret")


class SetupError(Exception):
    """The receiver cannot start; the message names the file and problem."""


class ApiError(Exception):
    """An error answer of the backend API: HTTP status and the JSON body
    {code, message, details?}."""

    def __init__(self, status, code, message, details=None, fault=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.fault = fault  # the injected fault mode that forced this answer

    def body(self):
        """The JSON error object sent to the client."""
        body = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


# ------------------------------------------------------------ small helpers

def rfc3339(epoch_seconds, milliseconds=False):
    """Unix time as RFC 3339 UTC, e.g. 2026-11-27T15:04:05Z."""
    moment = datetime.datetime.fromtimestamp(epoch_seconds,
                                             datetime.timezone.utc)
    spec = "milliseconds" if milliseconds else "seconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def read_secret_file(path):
    """The bytes of a secret file with one trailing "\\n" or "\\r\\n"
    removed, the same rule as the collector's secret_file_read(), so that
    both sides derive the same key from the same file."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SetupError("cannot read secret file %s: %s" % (path, e.strerror))
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    if not data:
        raise SetupError("secret file %s is empty" % path)
    return data


def read_text_file(path):
    """Contents of an optional PEM file handed out at registration; "" when
    no path was given."""
    if not path:
        return ""
    try:
        with open(path, "r", encoding="ascii") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise SetupError("cannot read %s: %s" % (path, e))


def is_number(value):
    """True for JSON numbers (bool is an int in Python, but not in JSON)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_integer(value):
    """True for JSON integers."""
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------- JWT

def b64url_encode(data):
    """base64url without padding, as JWTs use (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text, what):
    """Strict base64url without padding; a padded or otherwise malformed
    segment is a 401 naming `what` (which part of the token)."""
    if "=" in text:
        raise ApiError(401, "bad_token",
                       "JWT %s is base64url with padding; JWTs use none"
                       % what)
    if not BASE64URL_RE.match(text) or len(text) % 4 == 1:
        raise ApiError(401, "bad_token", "JWT %s is not base64url" % what)
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_sign_hs256(claims, key):
    """A compact HS256 JWT with header {"alg":"HS256","typ":"JWT"}."""
    header = b64url_encode(json.dumps(
        {"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64url_encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = (header + "." + payload).encode("ascii")
    signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    return header + "." + payload + "." + b64url_encode(signature)


def decode_json_segment(text, what):
    """A JWT header or payload segment decoded into a JSON object."""
    try:
        value = json.loads(b64url_decode(text, what))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(401, "bad_token", "JWT %s is not JSON" % what)
    if not isinstance(value, dict):
        raise ApiError(401, "bad_token", "JWT %s is not a JSON object" % what)
    return value


def check_jwt_header(header):
    """Only HS256 is accepted: "none" and asymmetric algorithms are the
    classic JWT downgrade attacks."""
    if header.get("alg") != "HS256":
        raise ApiError(401, "bad_token",
                       "JWT alg must be HS256, got %r" % (header.get("alg"),))
    if "crit" in header:
        raise ApiError(401, "bad_token", "JWT header has unsupported \"crit\"")


def check_jwt_claims(claims, now, expiry_grace):
    """The claims DESIGN.md requires, and the token's time window.
    `expiry_grace` seconds past exp are tolerated (refresh only)."""
    for name in ("sub", "collector_id", "hostname", "type"):
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise ApiError(401, "bad_token",
                           "JWT claim %r missing or not a non-empty string"
                           % name)
    if claims["type"] != "access":
        raise ApiError(401, "bad_token",
                       "JWT claim type must be \"access\", got %r"
                       % claims["type"])
    for name in ("iat", "nbf", "exp"):
        if not is_number(claims.get(name)):
            raise ApiError(401, "bad_token",
                           "JWT claim %r missing or not a number" % name)
    if claims["nbf"] > now:
        raise ApiError(401, "token_not_yet_valid",
                       "JWT not valid before %s" % rfc3339(claims["nbf"]))
    if now >= claims["exp"] + expiry_grace:
        raise ApiError(401, "token_expired",
                       "JWT expired at %s" % rfc3339(claims["exp"]))


def jwt_verify_hs256(token, key, now, expiry_grace=0):
    """The claims of a valid HS256 token; ApiError 401 otherwise."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ApiError(401, "bad_token",
                       "JWT must have 3 dot-separated parts, got %d"
                       % len(parts))
    header = decode_json_segment(parts[0], "header")
    check_jwt_header(header)
    claims = decode_json_segment(parts[1], "payload")
    signature = b64url_decode(parts[2], "signature")
    signing_input = (parts[0] + "." + parts[1]).encode("ascii")
    expected = hmac.new(key, signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise ApiError(401, "bad_token", "JWT signature does not verify")
    check_jwt_claims(claims, now, expiry_grace)
    return claims


# ----------------------------------------------------------------- envelope

def schema_error(field, problem):
    """A 400 schema_invalid naming the offending field."""
    return ApiError(400, "schema_invalid", "%s: %s" % (field, problem),
                    {"field": field, "problem": problem})


def check_envelope_header(envelope):
    """The envelope's scalar fields (docs/PAYLOAD.md section 1)."""
    for name in ("collector_id", "hostname", "timestamp", "version"):
        if not isinstance(envelope.get(name), str):
            raise schema_error(name, "missing or not a string")
    if not RFC3339_RE.match(envelope["timestamp"]):
        raise schema_error("timestamp", "not RFC 3339")
    if not is_integer(envelope.get("seq")) or envelope["seq"] < 1:
        raise schema_error("seq", "missing or not a positive integer")
    if not is_integer(envelope.get("metrics_count")):
        raise schema_error("metrics_count", "missing or not an integer")


def check_record(index, record):
    """One element of metrics: an object with a type and a timestamp."""
    where = "metrics[%d]" % index
    if not isinstance(record, dict):
        raise schema_error(where, "not an object")
    record_type = record.get("type")
    if not isinstance(record_type, str) or not RECORD_TYPE_RE.match(
            record_type):
        raise schema_error(where + ".type", "missing or not [a-z0-9_]+")
    timestamp = record.get("timestamp")
    if not isinstance(timestamp, str) or not RFC3339_RE.match(timestamp):
        raise schema_error(where + ".timestamp",
                           "missing or not an RFC 3339 string")


def check_envelope(envelope):
    """The push envelope of DESIGN.md "Data path"; ApiError 400 naming the
    first field that is wrong."""
    if not isinstance(envelope, dict):
        raise schema_error("(envelope)", "not a JSON object")
    check_envelope_header(envelope)
    metrics = envelope.get("metrics")
    if not isinstance(metrics, list):
        raise schema_error("metrics", "missing or not an array")
    if envelope["metrics_count"] != len(metrics):
        raise schema_error("metrics_count", "is %d but metrics has %d elements"
                           % (envelope["metrics_count"], len(metrics)))
    for index, record in enumerate(metrics):
        check_record(index, record)


# -------------------------------------------------------------------- state

class Settings:
    """What the command line fixed at start-up."""

    def __init__(self, args):
        self.secret = read_secret_file(args.secret_file)
        self.registration_secret = read_secret_file(
            args.registration_secret_file)
        self.issue_cert = read_text_file(args.issue_cert)
        self.issue_key = read_text_file(args.issue_key)
        self.signature_key = args.signature_key
        self.refresh_grace = args.refresh_grace
        self.verbose = args.verbose
        self.keep_payloads = args.keep_payloads


class JsonLinesFile:
    """An append-only file of JSON lines, each made durable (fsync) before
    the request that produced it is answered."""

    def __init__(self, path):
        self.path = path

    def append(self, record):
        """Write one record as one line and fsync it."""
        line = json.dumps(record, sort_keys=True) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def read_all(self):
        """Every record, oldest first; [] when the file does not exist.
        A line that is not JSON is a SetupError naming file and line."""
        try:
            with open(self.path, "r", encoding="utf-8") as f:
                lines = f.readlines()
        except FileNotFoundError:
            return []
        records = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError as e:
                raise SetupError("%s:%d: not a JSON line: %s"
                                 % (self.path, number, e))
        return records


class ReceiverState:
    """Everything that changes while the receiver runs, shared by the TLS
    and control threads; one lock guards it all."""

    def __init__(self, state_dir):
        os.makedirs(state_dir, exist_ok=True)
        self.state_dir = state_dir
        self.lock = threading.Lock()
        self.fault_mode = "none"
        self.slow_seconds = DEFAULT_SLOW_SECONDS
        self.token_ttl = DEFAULT_TOKEN_TTL_SECONDS
        self.requests = []
        self.connections = []
        self.accepted = JsonLinesFile(os.path.join(state_dir,
                                                   "accepted.jsonl"))
        self.registrations_file = JsonLinesFile(
            os.path.join(state_dir, "registrations.jsonl"))
        # Both survive a restart of the receiver on the same state dir, so
        # a replay after a restart is still recognised as a duplicate.
        self.seen_batches = {(r["collector_id"], r["seq"])
                             for r in self.accepted.read_all()}
        self.registrations = {r["collector_id"]: r
                              for r in self.registrations_file.read_all()}

    def state_path(self, name):
        """Path of a file in the state directory."""
        return os.path.join(self.state_dir, name)

    # faults -------------------------------------------------------------

    def set_fault(self, mode, slow_seconds=None):
        """Switch the fault mode (one of FAULT_MODES)."""
        with self.lock:
            self.fault_mode = mode
            if slow_seconds is not None:
                self.slow_seconds = slow_seconds

    def fault(self):
        """The current (mode, slow_seconds)."""
        with self.lock:
            return self.fault_mode, self.slow_seconds

    def take_push_fault(self):
        """The fault a push gets now.  "401_once" is consumed by the push
        that sees it, so exactly one push is answered 401."""
        with self.lock:
            mode = self.fault_mode
            if mode == "401_once":
                self.fault_mode = "none"
            return mode

    def set_token_ttl(self, seconds):
        """Lifetime of tokens issued from now on."""
        with self.lock:
            self.token_ttl = seconds

    def current_token_ttl(self):
        """Lifetime of a token issued now."""
        with self.lock:
            return self.token_ttl

    # logs ---------------------------------------------------------------

    def log_request(self, entry):
        """Remember one answered (or dropped) request."""
        with self.lock:
            entry["id"] = len(self.requests) + 1
            self.requests.append(entry)

    def log_connection(self, entry):
        """Remember one TLS connection attempt and how it ended."""
        with self.lock:
            self.connections.append(entry)

    def snapshot(self, name):
        """A copy of the request or connection log."""
        with self.lock:
            return list(getattr(self, name))

    # registrations and batches --------------------------------------------

    def register(self, name, hostname, address, version):
        """The registration of (name, hostname): the existing one, so that
        a collector that lost its state gets its id back, or a new one."""
        with self.lock:
            for registration in self.registrations.values():
                if (registration["name"], registration["hostname"]) == (
                        name, hostname):
                    return registration
            registration = {"collector_id": str(uuid.uuid4()), "name": name,
                            "hostname": hostname, "address": address,
                            "version": version,
                            "registered_at": rfc3339(time.time(), True)}
            self.registrations_file.append(registration)
            self.registrations[registration["collector_id"]] = registration
            return registration

    def is_registered(self, collector_id):
        """True when register() handed out this id."""
        with self.lock:
            return collector_id in self.registrations

    def keep_payload(self, envelope):
        """Append an accepted envelope, whole, to payloads.jsonl
        (--keep-payloads)."""
        with self.lock:
            with open(os.path.join(self.state_dir, "payloads.jsonl"), "a",
                      encoding="utf-8") as f:
                f.write(json.dumps(envelope, sort_keys=True) + "\n")

    def record_batch(self, record):
        """Append an accepted batch to accepted.jsonl, marking it as a
        duplicate when its (collector_id, seq) was seen before.  Returns
        the record as written."""
        with self.lock:
            key = (record["collector_id"], record["seq"])
            record["duplicate"] = key in self.seen_batches
            self.accepted.append(record)
            self.seen_batches.add(key)
            return record


# ------------------------------------------------------------ TLS endpoints

def bearer_token(headers):
    """The token of an "Authorization: Bearer ..." header; 401 without."""
    value = headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing_token",
                       "Authorization: Bearer <token> header required")
    return token.strip()


def issue_token(settings, state, collector_id, hostname):
    """A new access token for a collector, and its expiry (unix time)."""
    now = int(time.time())
    expires = now + state.current_token_ttl()
    claims = {"sub": collector_id, "collector_id": collector_id,
              "hostname": hostname, "type": "access",
              "iat": now, "nbf": now, "exp": expires}
    return jwt_sign_hs256(claims, settings.secret), expires


def parse_json_body(body):
    """A request body parsed as a JSON object; 400 otherwise."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ApiError(400, "bad_json", "request body is not JSON: %s" % e)
    if not isinstance(value, dict):
        raise ApiError(400, "bad_json", "request body is not a JSON object")
    return value


REGISTRATION_FIELDS = {"name": True, "hostname": True, "address": False,
                       "version": False}


def check_registration_body(body):
    """{name, hostname, address?, version?}: required strings present,
    optional ones strings or null, nothing else (a misspelt key is a bug
    the tests should see)."""
    unknown = sorted(set(body) - set(REGISTRATION_FIELDS))
    if unknown:
        raise schema_error(unknown[0], "unknown key (allowed: %s)"
                           % ", ".join(sorted(REGISTRATION_FIELDS)))
    for name, required in REGISTRATION_FIELDS.items():
        value = body.get(name)
        if value is None and not required:
            continue
        if not isinstance(value, str) or not value:
            raise schema_error(name, "missing or not a non-empty string")


def handle_register(request):
    """POST /api/v1/collectors/register."""
    settings = request.server.settings
    offered = request.headers.get("X-Registration-Secret", "").encode()
    if not hmac.compare_digest(offered, settings.registration_secret):
        raise ApiError(401, "bad_registration_secret",
                       "X-Registration-Secret missing or wrong")
    body = parse_json_body(request.body)
    check_registration_body(body)
    state = request.server.state
    registration = state.register(body["name"], body["hostname"],
                                  body.get("address"), body.get("version"))
    token, expires = issue_token(settings, state,
                                 registration["collector_id"],
                                 registration["hostname"])
    return 201, {"collector_id": registration["collector_id"],
                 "token": token,
                 "certificate": settings.issue_cert,
                 "private_key": settings.issue_key,
                 "expires_at": rfc3339(expires)}


def handle_refresh(request):
    """POST /api/v1/collectors/refresh-token: a valid or recently expired
    token of a registered collector buys a new one."""
    settings = request.server.settings
    state = request.server.state
    claims = jwt_verify_hs256(bearer_token(request.headers), settings.secret,
                              time.time(), settings.refresh_grace)
    if not state.is_registered(claims["collector_id"]):
        raise ApiError(401, "unknown_collector",
                       "collector %s is not registered"
                       % claims["collector_id"])
    token, expires = issue_token(settings, state, claims["collector_id"],
                                 claims["hostname"])
    return 200, {"token": token, "expires_at": rfc3339(expires)}


def check_push_headers(headers):
    """Content-Type and Content-Encoding of a push."""
    media_type = headers.get("Content-Type", "").split(";")[0].strip()
    if media_type.lower() != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       "Content-Type must be application/json, got %r"
                       % headers.get("Content-Type"))
    encoding = headers.get("Content-Encoding", "").strip().lower()
    if encoding != "gzip":
        raise ApiError(415, "unsupported_media_type",
                       "Content-Encoding must be gzip, got %r"
                       % headers.get("Content-Encoding"))


def check_body_signature(headers, body, key):
    """X-Pganalytics-Signature: "sha256=" + lowercase hex
    HMAC-SHA256(key, exact body bytes)."""
    offered = headers.get("X-Pganalytics-Signature")
    if offered is None:
        raise ApiError(400, "missing_signature",
                       "X-Pganalytics-Signature header required")
    if not SIGNATURE_RE.match(offered):
        raise ApiError(400, "bad_signature",
                       "X-Pganalytics-Signature must be sha256=<64 lowercase"
                       " hex digits>")
    expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(offered, expected):
        raise ApiError(400, "bad_signature",
                       "X-Pganalytics-Signature does not match the body")


def gunzip_envelope(body):
    """The JSON envelope inside a gzip body, and its uncompressed size."""
    try:
        raw = gzip.decompress(body)
    except (OSError, EOFError, zlib.error) as e:
        raise ApiError(400, "bad_gzip", "body is not valid gzip: %s" % e)
    try:
        return json.loads(raw.decode("utf-8")), len(raw)
    except (UnicodeDecodeError, ValueError) as e:
        raise ApiError(400, "bad_json", "gunzipped body is not JSON: %s" % e)


def signature_key(settings, token):
    """The HMAC key of the body signature: the shared secret, or with
    --signature-key token the bearer token itself (a collector in token
    mode without a secret file signs with its token)."""
    if settings.signature_key == "token":
        return token.encode("ascii")
    return settings.secret


def batch_record(request, claims, envelope, json_bytes):
    """What accepted.jsonl says about one accepted batch."""
    body_bytes = len(request.body)
    return {"collector_id": claims["collector_id"],
            "seq": envelope["seq"],
            "metrics_count": envelope["metrics_count"],
            "record_types": sorted({r["type"] for r in envelope["metrics"]}),
            "body_bytes": body_bytes,
            "json_bytes": json_bytes,
            "gzip_ratio": round(json_bytes / body_bytes, 3),
            "received_at": rfc3339(time.time(), True),
            "client_port": request.client_address[1]}


def inject_push_fault(state):
    """The answer a push fault forces, if any."""
    mode = state.take_push_fault()
    if mode == "401_once":
        raise ApiError(401, "token_rejected",
                       "injected fault: 401 once (refresh and retry)",
                       fault=mode)
    if mode == "400":
        raise ApiError(400, "schema_invalid",
                       "injected fault: payload rejected",
                       {"fault": "400"}, fault=mode)


def handle_push(request):
    """POST /api/v1/metrics/push."""
    settings = request.server.settings
    state = request.server.state
    inject_push_fault(state)
    token = bearer_token(request.headers)
    claims = jwt_verify_hs256(token, settings.secret, time.time())
    check_push_headers(request.headers)
    check_body_signature(request.headers, request.body,
                         signature_key(settings, token))
    envelope, json_bytes = gunzip_envelope(request.body)
    check_envelope(envelope)
    if envelope["collector_id"] != claims["collector_id"]:
        raise ApiError(403, "collector_mismatch",
                       "envelope collector_id %r is not the token's %r"
                       % (envelope["collector_id"], claims["collector_id"]))
    record = state.record_batch(batch_record(request, claims, envelope,
                                             json_bytes))
    if settings.keep_payloads:
        state.keep_payload(envelope)
    return 200, {"status": "accepted", "collector_id": record["collector_id"],
                 "seq": record["seq"], "duplicate": record["duplicate"]}


def read_optional_file(path):
    """Text of a file, or None when it does not exist."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def handle_config(request, collector_id):
    """GET /api/v1/config/{collector_id}: the overlay in
    STATE/config-overlay.conf, versioned by STATE/config-version."""
    settings = request.server.settings
    state = request.server.state
    claims = jwt_verify_hs256(bearer_token(request.headers), settings.secret,
                              time.time())
    if claims["collector_id"] != collector_id:
        raise ApiError(403, "forbidden",
                       "token of collector %r cannot read the config of %r"
                       % (claims["collector_id"], collector_id))
    overlay = read_optional_file(state.state_path("config-overlay.conf"))
    if overlay is None:
        raise ApiError(404, "not_found",
                       "no configuration overlay for this collector")
    version = read_optional_file(state.state_path("config-version"))
    version = version.strip() if version and version.strip() else "1"
    return 200, overlay, {"X-Config-Version": version}


CONFIG_PREFIX = "/api/v1/config/"

POST_ROUTES = {
    "/api/v1/collectors/register": handle_register,
    "/api/v1/collectors/refresh-token": handle_refresh,
    "/api/v1/metrics/push": handle_push,
}


def route(request, method, path):
    """Call the endpoint for (method, path); 404/405 for anything else.
    Returns (status, body) or (status, body, extra headers)."""
    if path in POST_ROUTES:
        if method != "POST":
            raise ApiError(405, "method_not_allowed", "%s needs POST" % path)
        return POST_ROUTES[path](request)
    if path.startswith(CONFIG_PREFIX) and len(path) > len(CONFIG_PREFIX):
        if method != "GET":
            raise ApiError(405, "method_not_allowed", "%s needs GET" % path)
        return handle_config(request,
                             urllib.parse.unquote(path[len(CONFIG_PREFIX):]))
    raise ApiError(404, "not_found", "no endpoint %s" % path)


def redacted_headers(headers):
    """Request headers for the log, names lowercased, secrets hidden (the
    auth scheme stays visible)."""
    logged = {}
    for name, value in headers.items():
        name = name.lower()
        if name == "authorization":
            value = value.partition(" ")[0] + " <redacted>"
        elif name in REDACTED_HEADERS:
            value = "<redacted>"
        logged[name] = value
    return logged


class BodyError(Exception):
    """The request body cannot be read; the connection must be closed."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.api_error = ApiError(status, code, message)


class BackendHandler(BaseHTTPRequestHandler):
    """One HTTP/1.1 keep-alive connection on the TLS port."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_SECONDS
    server_version = "pga-test-receiver"

    def do_GET(self):  # noqa: N802 (http.server's naming)
        """Dispatch a GET."""
        self.serve("GET")

    def do_POST(self):  # noqa: N802
        """Dispatch a POST."""
        self.serve("POST")

    def serve(self, method):
        """Apply the current fault, then answer through route()."""
        self.status = None
        self.applied_fault = None
        self.error_code = None
        self.body = b""
        mode, slow_seconds = self.server.state.fault()
        if mode == "down":
            self.drop_connection()
            return
        try:
            self.body = self.read_body()
        except BodyError as e:
            self.close_connection = True
            self.send_api_error(e.api_error)
            self.log_to_state()
            return
        if mode == "slow":
            self.applied_fault = "slow"
            time.sleep(slow_seconds)
        if mode == "500":
            self.applied_fault = "500"
            self.send_api_error(ApiError(500, "internal_error",
                                         "injected fault: 500", fault=mode))
        else:
            self.answer(method)
        self.log_to_state()

    def answer(self, method):
        """Run the endpoint and send what it returns or raises."""
        path = urllib.parse.urlsplit(self.path).path
        try:
            result = route(self, method, path)
        except ApiError as e:
            self.applied_fault = e.fault or self.applied_fault
            self.send_api_error(e)
            return
        status, body = result[0], result[1]
        extra = result[2] if len(result) > 2 else {}
        if isinstance(body, str):
            self.send_body(status, body.encode("utf-8"),
                           "text/plain; charset=utf-8", extra)
        else:
            self.send_json(status, body, extra)

    def drop_connection(self):
        """Fault "down" on a kept-alive connection: no answer at all."""
        self.applied_fault = "down"
        self.close_connection = True
        self.log_to_state()

    def read_body(self):
        """The request body, by Content-Length or chunked encoding."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunked_body()
        length_text = self.headers.get("Content-Length", "0")
        try:
            length = int(length_text)
        except ValueError:
            raise BodyError(400, "bad_request",
                            "Content-Length %r is not a number" % length_text)
        if length < 0 or length > MAX_BODY_BYTES:
            raise BodyError(413, "payload_too_large",
                            "body of %d bytes (limit %d)"
                            % (length, MAX_BODY_BYTES))
        return self.rfile.read(length)

    def read_chunked_body(self):
        """A Transfer-Encoding: chunked body (RFC 9112 section 7.1)."""
        chunks = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise BodyError(400, "bad_request", "malformed chunk size")
            total += size
            if total > MAX_BODY_BYTES:
                raise BodyError(413, "payload_too_large",
                                "chunked body over %d bytes" % MAX_BODY_BYTES)
            if size == 0:
                break
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)
        while self.rfile.readline(1024).strip():
            pass  # trailer fields, not used
        return b"".join(chunks)

    def send_api_error(self, error):
        """An error answer {code, message, details?}."""
        self.error_code = error.code
        extra = {}
        if error.status == 401:
            extra["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        self.send_json(error.status, error.body(), extra)

    def send_json(self, status, value, extra_headers=None):
        """A JSON answer."""
        self.send_body(status, json.dumps(value).encode("utf-8"),
                       "application/json", extra_headers)

    def send_body(self, status, data, content_type, extra_headers=None):
        """An answer with an exact Content-Length, so that the connection
        can be kept alive."""
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up (timeout)

    def log_to_state(self):
        """Add this request to the log GET /requests returns."""
        self.server.state.log_request({
            "time": rfc3339(time.time(), True),
            "client_port": self.client_address[1],
            "method": self.command,
            "path": self.path,
            "status": self.status,
            "code": self.error_code,
            "fault": self.applied_fault,
            "body_bytes": len(self.body),
            "headers": redacted_headers(self.headers),
        })

    def log_message(self, format, *args):  # noqa: A002 (base class name)
        """Per-request lines on stderr only with --verbose: a test that
        never reads the receiver's stderr must not fill the pipe."""
        if self.server.settings.verbose:
            sys.stderr.write("receiver: %s:%d %s\n" % (
                self.client_address[0], self.client_address[1],
                format % args))


def peer_common_name(tls_socket):
    """The CN of the verified client certificate."""
    certificate = tls_socket.getpeercert() or {}
    for rdn in certificate.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


class TLSServer(ThreadingHTTPServer):
    """The backend's HTTPS port.  The TLS handshake happens in the
    connection's own thread, so a stalled client never blocks accept()."""

    daemon_threads = True

    def __init__(self, port, tls_context, settings, state):
        self.tls_context = tls_context
        self.settings = settings
        self.state = state
        super().__init__((LOOPBACK, port), BackendHandler)

    def finish_request(self, request, client_address):
        """Handshake, then serve the connection's requests."""
        port = client_address[1]
        if self.state.fault()[0] == "down":
            # A dead backend: the port is open but nothing answers.
            self.log_handshake(port, None, "dropped: fault mode \"down\"")
            request.close()
            return
        request.settimeout(HANDSHAKE_TIMEOUT_SECONDS)
        # http.server writes headers and body separately; without this the
        # body waits for the client's delayed ACK (about 40 ms a request).
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls_socket = self.tls_context.wrap_socket(request,
                                                      server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.log_handshake(port, None, "handshake failed: %s" % e)
            return
        try:
            self.log_handshake(port, tls_socket, None)
            self.RequestHandlerClass(tls_socket, client_address, self)
        finally:
            tls_socket.close()

    def log_handshake(self, port, tls_socket, error):
        """Record how a connection's TLS handshake went."""
        entry = {"time": rfc3339(time.time(), True), "client_port": port,
                 "ok": error is None, "error": error}
        if tls_socket is not None:
            entry["tls_version"] = tls_socket.version()
            entry["cipher"] = tls_socket.cipher()[0]
            entry["client_cn"] = peer_common_name(tls_socket)
        self.state.log_connection(entry)
        if error and self.settings.verbose:
            sys.stderr.write("receiver: 127.0.0.1:%d %s\n" % (port, error))

    def handle_error(self, request, client_address):
        """An unexpected exception in a handler is a receiver bug: say so
        in one block on stderr."""
        sys.stderr.write("receiver: internal error serving port %d:\n%s"
                         % (client_address[1], traceback.format_exc()))


def make_tls_context(args):
    """Server side TLS: TLS 1.3 only (or 1.2 only with --tls12-only), our
    certificate, and a client certificate required and verified against
    --client-ca."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    version = (ssl.TLSVersion.TLSv1_2 if args.tls12_only
               else ssl.TLSVersion.TLSv1_3)
    context.minimum_version = version
    context.maximum_version = version
    try:
        context.load_cert_chain(args.cert, args.key)
        context.load_verify_locations(cafile=args.client_ca)
    except (OSError, ssl.SSLError) as e:
        raise SetupError("cannot load TLS files (--cert %s --key %s "
                         "--client-ca %s): %s"
                         % (args.cert, args.key, args.client_ca, e))
    context.verify_mode = ssl.CERT_REQUIRED
    return context


# ------------------------------------------------------------ control port

def parse_fault(body):
    """(mode, slow_seconds) from a POST /fault body."""
    mode = body.get("mode")
    if mode not in FAULT_MODES:
        raise ApiError(400, "bad_request", "mode must be one of %s"
                       % ", ".join(FAULT_MODES))
    slow_seconds = body.get("slow_seconds")
    if slow_seconds is not None and (not is_number(slow_seconds)
                                     or slow_seconds < 0):
        raise ApiError(400, "bad_request",
                       "slow_seconds must be a number >= 0")
    return mode, slow_seconds


def control_set_fault(state, body):
    """POST /fault {"mode", "slow_seconds"?}."""
    mode, slow_seconds = parse_fault(body)
    state.set_fault(mode, slow_seconds)
    return control_get_fault(state, body)


def control_get_fault(state, _body):
    """GET /fault."""
    mode, slow_seconds = state.fault()
    return {"mode": mode, "slow_seconds": slow_seconds}


def control_set_token_ttl(state, body):
    """POST /token_ttl {"seconds": N}."""
    seconds = body.get("seconds")
    if not is_integer(seconds) or seconds < 1:
        raise ApiError(400, "bad_request", "seconds must be an integer >= 1")
    state.set_token_ttl(seconds)
    return {"seconds": seconds}


CONTROL_ROUTES = {
    ("GET", "/fault"): control_get_fault,
    ("POST", "/fault"): control_set_fault,
    ("POST", "/token_ttl"): control_set_token_ttl,
    ("GET", "/accepted"): lambda state, _: state.accepted.read_all(),
    ("GET", "/requests"): lambda state, _: state.snapshot("requests"),
    ("GET", "/connections"): lambda state, _: state.snapshot("connections"),
    ("GET", "/registrations"):
        lambda state, _: state.registrations_file.read_all(),
}


class ControlHandler(BaseHTTPRequestHandler):
    """Plain HTTP on 127.0.0.1 for the tests to steer and inspect the
    receiver."""

    def do_GET(self):  # noqa: N802
        """Dispatch a GET."""
        self.serve("GET")

    def do_POST(self):  # noqa: N802
        """Dispatch a POST."""
        self.serve("POST")

    def serve(self, method):
        """Run the control route and answer in JSON."""
        handler = CONTROL_ROUTES.get((method, self.path))
        try:
            if handler is None:
                raise ApiError(404, "not_found", "no control endpoint %s %s"
                               % (method, self.path))
            body = parse_json_body(self.read_body()) if (
                self.headers.get("Content-Length", "0") != "0") else {}
            self.reply(200, handler(self.server.state, body))
        except ApiError as e:
            self.reply(e.status, e.body())

    def read_body(self):
        """The request body (control requests are small JSON objects)."""
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise ApiError(400, "bad_request", "bad Content-Length")
        if length < 0 or length > MAX_BODY_BYTES:
            raise ApiError(413, "payload_too_large", "control body too big")
        return self.rfile.read(length)

    def reply(self, status, value):
        """A JSON answer."""
        data = json.dumps(value).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):  # noqa: A002
        """Quiet unless --verbose."""
        if self.server.settings.verbose:
            sys.stderr.write("receiver control: %s\n" % (format % args))


class ControlServer(ThreadingHTTPServer):
    """The control port."""

    daemon_threads = True

    def __init__(self, port, settings, state):
        self.settings = settings
        self.state = state
        super().__init__((LOOPBACK, port), ControlHandler)


# -------------------------------------------------------------------- main

def parse_args(argv):
    """The command line."""
    parser = argparse.ArgumentParser(
        description="pgAnalytics test backend (HTTPS, TLS 1.3, mutual TLS)")
    parser.add_argument("--cert", required=True, help="server certificate")
    parser.add_argument("--key", required=True, help="server private key")
    parser.add_argument("--client-ca", required=True,
                        help="CA that client certificates must chain to")
    parser.add_argument("--tls12-only", action="store_true",
                        help="speak TLS 1.2 only (the collector must refuse)")
    parser.add_argument("--secret-file", required=True,
                        help="HMAC key: JWTs and body signatures")
    parser.add_argument("--registration-secret-file", required=True,
                        help="expected X-Registration-Secret")
    parser.add_argument("--state", required=True,
                        help="directory for accepted.jsonl and the overlay")
    parser.add_argument("--port", type=int, default=0,
                        help="TLS port on 127.0.0.1 (default: any free)")
    parser.add_argument("--control-port", type=int, default=0,
                        help="control port on 127.0.0.1 (default: any free)")
    parser.add_argument("--issue-cert", default="",
                        help="PEM returned as \"certificate\" at registration")
    parser.add_argument("--issue-key", default="",
                        help="PEM returned as \"private_key\" at registration")
    parser.add_argument("--signature-key", choices=("secret", "token"),
                        default="secret",
                        help="HMAC key of X-Pganalytics-Signature")
    parser.add_argument("--refresh-grace", type=int,
                        default=DEFAULT_REFRESH_GRACE_SECONDS,
                        help="seconds after expiry a token can be refreshed")
    parser.add_argument("--keep-payloads", action="store_true",
                        help="also append every accepted envelope, whole, "
                        "to STATE/payloads.jsonl")
    parser.add_argument("--verbose", action="store_true",
                        help="log every request and handshake on stderr")
    return parser.parse_args(argv)


def main(argv=None):
    """Start both servers, announce their ports, serve until killed."""
    args = parse_args(argv)
    try:
        settings = Settings(args)
        state = ReceiverState(args.state)
        tls_server = TLSServer(args.port, make_tls_context(args), settings,
                               state)
        control_server = ControlServer(args.control_port, settings, state)
    except (SetupError, OSError) as e:
        sys.stderr.write("receiver.py: %s\n" % e)
        return 2
    sys.stdout.write("LISTENING %d %d\n" % (tls_server.server_address[1],
                                            control_server.server_address[1]))
    sys.stdout.flush()
    threading.Thread(target=control_server.serve_forever, daemon=True,
                     name="control").start()
    try:
        tls_server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
