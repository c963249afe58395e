"""A real HTTPS backend for the delivery tests: tests/receiver/receiver.py
(Python's ssl, so OpenSSL on the other side of the collector's GnuTLS)
with certificates made for this run by tests/receiver/make-certs.sh."""

import json
import os
import subprocess
import urllib.request

from harness import TestFailure, wait_until

SECRET = "itest-hmac-secret-4f8a2c"
REGISTRATION_SECRET = "itest-registration-secret-9d1e"


def make_certs(case):
    """Certificates for this test in case.tmp/certs; returns the directory."""
    directory = case.path("certs")
    script = os.path.join(case.env.source_dir, "tests", "receiver", "make-certs.sh")
    done = subprocess.run(["sh", script, directory], capture_output=True)
    if done.returncode != 0:
        raise TestFailure("make-certs.sh failed:\n"
                          + done.stderr.decode("utf-8", "replace"))
    return directory


def write_secret(path, text, mode=0o600):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    os.chmod(path, mode)
    return path


class Receiver:
    """receiver.py running for one test; stopped by stop()."""

    def __init__(self, case, certs, server="server", tls12_only=False, extra=()):
        self.case = case
        self.state = case.path("receiver-state-%s" % server)
        os.makedirs(self.state, exist_ok=True)
        self.secret_file = write_secret(case.path("backend.secret"), SECRET)
        self.registration_file = write_secret(case.path("backend.registration"),
                                              REGISTRATION_SECRET)
        args = [case.env.python, os.path.join(case.env.source_dir, "tests",
                                              "receiver", "receiver.py"),
                "--cert", os.path.join(certs, server + ".pem"),
                "--key", os.path.join(certs, server + ".key"),
                "--client-ca", os.path.join(certs, "ca.pem"),
                "--secret-file", self.secret_file,
                "--registration-secret-file", self.registration_file,
                "--state", self.state] + list(extra)
        if tls12_only:
            args.append("--tls12-only")
        self.stderr_path = case.path("receiver-%s.stderr" % server)
        with open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(args, stdout=subprocess.PIPE,
                                            stderr=err, stdin=subprocess.DEVNULL)
        line = self.process.stdout.readline().decode().split()
        if len(line) != 3 or line[0] != "LISTENING":
            self.stop()
            raise TestFailure("receiver did not start: %r" % line)
        self.port, self.control_port = int(line[1]), int(line[2])
        case.cleanups.append(self.stop)

    @property
    def url(self):
        return "https://localhost:%d" % self.port

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (self.control_port, path), data=data,
            method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def fault(self, mode, **extra):
        self.control("POST", "/fault", dict(mode=mode, **extra))

    def accepted(self):
        return self.control("GET", "/accepted")

    def requests(self):
        return self.control("GET", "/requests")

    def wait_accepted(self, count, daemon=None):
        def enough():
            if daemon:
                daemon.check_running()
            got = [a for a in self.accepted() if not a.get("duplicate")]
            return got if len(got) >= count else None
        return wait_until(enough, "%d batches accepted by the receiver" % count)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def backend_section(receiver, certs, auth="token", **overrides):
    """backend { } options talking to `receiver` with the client cert."""
    options = {
        "url": receiver.url,
        "ca_file": os.path.join(certs, "ca.pem"),
        "client_cert": os.path.join(certs, "client.pem"),
        "client_key": os.path.join(certs, "client.key"),
        "auth": auth,
        "secret_file": receiver.secret_file,
        "registration_secret_file": receiver.registration_file,
        "timeout": 5,
    }
    options.update(overrides)
    return options
