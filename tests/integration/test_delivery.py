"""Delivery to a real HTTPS backend (tests/receiver/receiver.py): TLS 1.3
with mutual TLS, registration, tokens, signatures, the durable spool."""

import json
import os
import signal
import stat
import time

from backend import (REGISTRATION_SECRET, SECRET, Receiver, backend_section,
                     make_certs, write_secret)
from harness import check, wait_until


def start(case, receiver, certs, plugins=None, push_interval=1, **backend):
    case.write_config(plugins or {"second": {"interval": 1}},
                      backend=backend_section(receiver, certs, **backend),
                      push_interval=push_interval)
    return case.start_daemon()


def seq_made(case):
    """The last sequence number the collector stored."""
    with open(os.path.join(case.state_dir, "seq")) as f:
        return int(f.read())


def wait_for_seq(case, daemon, count, what, timeout=20):
    """Wait until the collector has made `count` payloads (by its seq)."""
    def reached():
        daemon.check_running()
        return seq_made(case) >= count
    wait_until(reached, what, timeout=timeout)


def seqs_of(batches, duplicates_allowed=0):
    """The seqs the backend accepted, checking that at most
    `duplicates_allowed` batches arrived twice."""
    duplicates = [b["seq"] for b in batches if b.get("duplicate")]
    check(len(duplicates) <= duplicates_allowed,
          "batches delivered twice: %r" % duplicates)
    return sorted(b["seq"] for b in batches if not b.get("duplicate"))


def check_secrets_not_logged(case):
    tokens = []
    credentials = os.path.join(case.state_dir, "credentials.json")
    if os.path.exists(credentials):
        with open(credentials) as f:
            token = json.load(f).get("token")
            if token:
                tokens.append(token)
    for text in case.all_stderr():
        for secret in [SECRET, REGISTRATION_SECRET] + tokens:
            check(secret not in text, "a secret or token appears in the log")


def test_registers_and_delivers_signed_batches_exactly_once(case):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    daemon = start(case, receiver, certs)
    receiver.wait_accepted(3, daemon)
    check(daemon.terminate() == 0, "exit status after SIGTERM")

    credentials = os.path.join(case.state_dir, "credentials.json")
    mode = stat.S_IMODE(os.stat(credentials).st_mode)
    check(mode == 0o600, "credentials.json mode %o, expected 600" % mode)
    with open(credentials) as f:
        stored = json.load(f)
    accepted = receiver.accepted()
    check(all(a["collector_id"] == stored["collector_id"] for a in accepted),
          "batches carry another collector_id than the registered one")
    seqs = seqs_of(accepted)
    check(seqs == list(range(1, len(seqs) + 1)),
          "each seq exactly once, from 1: %r" % seqs)
    ports = {a["client_port"] for a in accepted}
    check(len(ports) < len(accepted),
          "every batch used a new connection (%d ports for %d batches)"
          % (len(ports), len(accepted)))
    check_secrets_not_logged(case)


def test_hmac_auth_signs_its_own_token(case):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    # Without collector.id, hmac mode registers to get one (and a token it
    # must then ignore: it signs its own).
    case.write_config({"second": {"interval": 1}},
                      backend=backend_section(receiver, certs, auth="hmac"),
                      push_interval=1, id="")
    daemon = case.start_daemon()
    registered = receiver.wait_accepted(1, daemon)[0]["collector_id"]
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    case.write_config({"second": {"interval": 1}},
                      backend=backend_section(receiver, certs, auth="hmac"),
                      push_interval=1, id="hmac-collector")
    before = len(receiver.accepted())
    daemon = case.start_daemon()
    receiver.wait_accepted(before + 2, daemon)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    later = receiver.accepted()[before:]
    check(all(a["collector_id"] == "hmac-collector" for a in later),
          "with collector.id set, hmac batches carry it (registered was %s): %r"
          % (registered, {a["collector_id"] for a in later}))
    check_secrets_not_logged(case)


def test_backend_down_for_20_intervals_then_back(case):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    daemon = start(case, receiver, certs)
    receiver.wait_accepted(1, daemon)
    receiver.fault("down")
    # 20+ push intervals of outage, measured in payloads the collector
    # made (its seq), not in seconds.
    wait_for_seq(case, daemon, 25, "25 payloads made", timeout=60)
    receiver.fault("none")
    made = seq_made(case)
    receiver.wait_accepted(made, daemon)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    seqs = seqs_of(receiver.accepted())
    check(seqs[:made] == list(range(1, made + 1)),
          "after the outage every seq 1..%d exactly once; got %r" % (made, seqs))


def test_kill_9_during_a_push_loses_and_corrupts_nothing(case):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    daemon = start(case, receiver, certs)
    receiver.wait_accepted(2, daemon)
    receiver.fault("slow", slow_seconds=3)
    def pushing():
        daemon.check_running()
        return any(r.get("path") == "/api/v1/metrics/push" and r.get("status") is None
                   for r in receiver.requests()) or len(receiver.requests()) > 6
    wait_until(pushing, "a push in flight")
    daemon.process.send_signal(signal.SIGKILL)
    daemon.process.wait()
    receiver.fault("none")
    made = seq_made(case)
    daemon = case.start_daemon()
    receiver.wait_accepted(made + 1, daemon)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    # The batch in flight when the process died may arrive twice; the
    # backend drops that duplicate by its seq.
    seqs = seqs_of(receiver.accepted(), duplicates_allowed=1)
    check(seqs[:made + 1] == list(range(1, made + 2)),
          "after kill -9 and restart: every seq once, none lost: %r" % seqs)
    corrupt = os.listdir(os.path.join(case.state_dir, "spool", "corrupt"))
    check(corrupt == [], "corrupt batches after kill -9: %r" % corrupt)


def test_401_refreshes_the_token_once(case):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    daemon = start(case, receiver, certs)
    receiver.wait_accepted(1, daemon)
    receiver.fault("401_once")
    receiver.wait_accepted(3, daemon)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    paths = [r.get("path") for r in receiver.requests()]
    check("/api/v1/collectors/refresh-token" in paths,
          "no token refresh after a 401: %r" % paths)


def test_400_moves_the_batch_to_rejected(case):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    daemon = start(case, receiver, certs)
    receiver.wait_accepted(1, daemon)
    receiver.fault("400")
    rejected_dir = os.path.join(case.state_dir, "spool", "rejected")
    wait_until(lambda: any(n.endswith(".reason") for n in os.listdir(rejected_dir)),
               "a rejected batch with its reason")
    receiver.fault("none")
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    reasons = [n for n in os.listdir(rejected_dir) if n.endswith(".reason")]
    with open(os.path.join(rejected_dir, reasons[0])) as f:
        check("schema_invalid" in f.read(), "the server's answer is kept")
    check("schema_invalid" in daemon.stderr(), "the server's code is logged")


def test_500_is_retried_until_delivered(case):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    daemon = start(case, receiver, certs)
    receiver.wait_accepted(1, daemon)
    receiver.fault("500")
    daemon.wait_for_log("HTTP 500")
    receiver.fault("none")
    made = seq_made(case)
    receiver.wait_accepted(made, daemon)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    seqs = seqs_of(receiver.accepted())
    check(seqs[:made] == list(range(1, made + 1)), "after 500s: %r" % seqs)


def expect_tls_refusal(case, server, needle, tls12_only=False):
    certs = make_certs(case)
    receiver = Receiver(case, certs, server=server, tls12_only=tls12_only)
    daemon = start(case, receiver, certs)
    daemon.wait_for_log(needle)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    check(receiver.accepted() == [], "a batch crossed a refused TLS connection")


def test_server_from_another_ca_is_refused(case):
    expect_tls_refusal(case, "wrong-ca-server",
                       "the server's certificate was refused: The certificate is NOT "
                       "trusted. The certificate issuer is unknown.")


def test_server_with_another_name_is_refused(case):
    expect_tls_refusal(case, "wrong-host-server",
                       "certificate subject name (wrong.example) does not match "
                       "target host name 'localhost'")


def test_expired_server_certificate_is_refused(case):
    expect_tls_refusal(case, "expired-server",
                       "The certificate chain uses expired certificate.")


def test_tls_1_2_server_is_refused(case):
    expect_tls_refusal(case, "server", "Error in protocol version; the backend "
                       "must offer TLS 1.3", tls12_only=True)


def expect_startup_refusal(case, needle, **backend):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    options = backend_section(receiver, certs)
    options.update({k: v(certs) if callable(v) else v for k, v in backend.items()})
    case.write_config({"second": {}}, backend=options)
    result = case.run("--once")
    result.check_status(3)
    check(needle in result.stderr, "expected %r in:\n%s" % (needle, result.stderr))


def test_client_key_that_does_not_match_is_refused(case):
    expect_startup_refusal(case, "does not match the certificate",
                           client_key=lambda certs: os.path.join(certs, "mismatch.key"))


def test_client_key_readable_by_others_is_refused(case):
    def loose_key(certs):
        path = os.path.join(certs, "client.key")
        os.chmod(path, 0o644)
        return path
    expect_startup_refusal(case, "is readable by group or others (mode 0644)",
                           client_key=loose_key)


def test_missing_client_certificate_is_refused(case):
    expect_startup_refusal(case, "client certificate \"/nonexistent/client.pem\"",
                           client_cert="/nonexistent/client.pem")


def test_secret_file_readable_by_others_is_refused(case):
    def loose_secret(_certs):
        return write_secret(case.path("loose.secret"), "x", mode=0o640)
    expect_startup_refusal(case, "readable by group or others", auth="hmac",
                           secret_file=loose_secret)


def test_client_certificate_expiring_soon_is_warned(case):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    daemon = start(case, receiver, certs,
                   client_cert=os.path.join(certs, "client-soon.pem"),
                   client_key=os.path.join(certs, "client-soon.key"))
    daemon.wait_for_log("expires in")
    receiver.wait_accepted(1, daemon)
    check(daemon.terminate() == 0, "exit status after SIGTERM")


def write_overlay(receiver, text, version):
    with open(os.path.join(receiver.state, "config-overlay.conf"), "w") as f:
        f.write(text)
    with open(os.path.join(receiver.state, "config-version"), "w") as f:
        f.write(version)


def test_pulled_configuration_is_applied_and_a_bad_one_refused(case):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    write_overlay(receiver, "plugin good {\n  enabled = true\n  interval = 1\n}\n", "2")
    case.write_config({"second": {"interval": 1}, "good": {"enabled": False}},
                      backend=backend_section(receiver, certs), push_interval=1,
                      config_pull_interval=1)
    daemon = case.start_daemon()
    wait_until(lambda: any("test_good" in a["record_types"] for a in receiver.accepted()),
               "records of the plugin the pulled configuration enabled")
    with open(os.path.join(case.state_dir, "remote.version")) as f:
        check(f.read().strip() == "2", "applied version not recorded")

    # A remote configuration may not touch the backend: refused, nothing changes.
    write_overlay(receiver, 'backend {\n  url = "https://elsewhere.example"\n}\n', "3")
    daemon.wait_for_log("configuration pulled from the backend refused")
    check("no such option 'backend' at top level" in daemon.stderr(),
          "the refusal does not say why:\n" + daemon.stderr())
    before = len(receiver.accepted())
    receiver.wait_accepted(before + 2, daemon)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    with open(os.path.join(case.state_dir, "remote.version")) as f:
        check(f.read().strip() == "2", "a refused version replaced the applied one")


def test_register_command_stores_credentials(case):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    case.write_config({}, backend=backend_section(receiver, certs))
    result = case.run("--register")
    result.check_status(0)
    check("registered with %s as collector" % receiver.url in result.stderr,
          "no registration message:\n" + result.stderr)
    for name in ("credentials.json", "collector_id"):
        mode = stat.S_IMODE(os.stat(os.path.join(case.state_dir, name)).st_mode)
        check(mode == 0o600, "%s mode %o, expected 600" % (name, mode))
    check_secrets_not_logged(case)


def test_register_with_a_wrong_secret_is_refused(case):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    wrong = write_secret(case.path("wrong.registration"), "not-the-secret")
    case.write_config({}, backend=backend_section(receiver, certs,
                                                  registration_secret_file=wrong))
    result = case.run("--register")
    result.check_status(3)
    check("registration refused: HTTP 401" in result.stderr
          or "registration refused: HTTP 403" in result.stderr,
          "the refusal does not give the backend's answer:\n" + result.stderr)
    check(not os.path.exists(os.path.join(case.state_dir, "credentials.json")),
          "credentials stored after a refused registration")


def test_token_is_refreshed_before_it_expires(case):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    # Tokens that live 120 s are inside the collector's 300 s renewal
    # margin at once: it must refresh them without waiting for a 401.
    receiver.control("POST", "/token_ttl", {"seconds": 120})
    daemon = start(case, receiver, certs)
    receiver.wait_accepted(3, daemon)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    statuses = [(r.get("path"), r.get("status")) for r in receiver.requests()]
    check(("/api/v1/collectors/refresh-token", 200) in statuses,
          "no refresh before expiry: %r" % statuses)
    check(all(status != 401 for _, status in statuses),
          "a request was refused with 401: %r" % statuses)


def test_once_delivers_before_exiting_or_says_it_could_not(case):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    case.write_config({"second": {}}, backend=backend_section(receiver, certs))
    result = case.run("--once")
    result.check_status(0)
    check(seqs_of(receiver.accepted()) == [1], "--once did not deliver its payload")

    receiver.fault("down")
    result = case.run("--once")
    result.check_status(3)
    check("the payload was not delivered; it stays in" in result.stderr,
          "no clear message:\n" + result.stderr)
    receiver.fault("none")
    result = case.run("--once")
    result.check_status(0)
    check(seqs_of(receiver.accepted()) == [1, 2, 3],
          "the spooled payload was not sent by the next run: %r"
          % seqs_of(receiver.accepted()))


def test_reload_with_new_backend_settings_sends_each_batch_once(case):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    daemon = start(case, receiver, certs)
    receiver.wait_accepted(1, daemon)
    receiver.fault("down")
    wait_for_seq(case, daemon, 8, "a backlog of spooled batches")
    # A changed backend setting reopens delivery: one sending thread only.
    case.write_config({"second": {"interval": 1}},
                      backend=backend_section(receiver, certs, timeout=7),
                      push_interval=1)
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log("configuration reloaded")
    receiver.fault("none")
    made = seq_made(case)
    receiver.wait_accepted(made, daemon)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    seqs = seqs_of(receiver.accepted())
    check(seqs[:made] == list(range(1, made + 1)), "after the reload: %r" % seqs)


def test_lost_sequence_file_never_reuses_a_seq(case):
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    daemon = start(case, receiver, certs)
    receiver.wait_accepted(2, daemon)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    before = seqs_of(receiver.accepted())
    os.unlink(os.path.join(case.state_dir, "seq"))
    daemon = case.start_daemon()
    receiver.wait_accepted(len(before) + 2, daemon)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    check("sequence numbers continue from" in daemon.stderr(),
          "the lost sequence was not reported:\n" + daemon.stderr())
    after = seqs_of(receiver.accepted())[len(before):]
    check(after and min(after) > max(before),
          "after losing state_dir/seq, new seqs %r must exceed the old %r"
          % (after, before))


def cpu_seconds(pid):
    """User + system CPU of the process so far (every thread), from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_an_idle_collector_does_not_spin(case):
    """Before its first push (not registered yet, so no configuration
    pull is possible) and between pushes, no thread may poll: a wait whose
    deadline lies in the past returns at once and would loop."""
    certs = make_certs(case)
    receiver = Receiver(case, certs)
    daemon = start(case, receiver, certs, plugins={"second": {"interval": 3600}},
                   push_interval=3600)
    daemon.wait_for_log("started:")
    check_idle(daemon, "before its first push")
    daemon.terminate()
    daemon = start(case, receiver, certs, plugins={"second": {"interval": 3600}},
                   push_interval=1)
    receiver.wait_accepted(2, daemon)
    check_idle(daemon, "registered, pushing every second")


def check_idle(daemon, when):
    before = cpu_seconds(daemon.pid)
    time.sleep(4)
    used = cpu_seconds(daemon.pid) - before
    daemon.check_running()
    # Idle means a few wake-ups (and small pushes): far below the 4 s a
    # spinning thread burns.
    check(used < 0.4, "%s, the collector used %.2f s of CPU in 4 s" % (when, used))
