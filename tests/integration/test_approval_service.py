"""stepup-approval, the reference approval endpoint, against a real Dovecot:
protocol v1 over HTTPS from an independent client (Python's hmac), and
its store surviving a restart of the service."""

import json
import os
import secrets
import subprocess

import pytest

import approval_service as asvc
from dovecot_harness import built

POLICY = """\
version = 1;
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
APPROVAL
login = ( { name = "default"; require = "password"; } );
folders = (
  { name = "hr"; mailbox = "Confidentiel"; require = "approval";
    grant = "15m"; },
  { name = "rest"; mailbox = "*"; require = "none"; }
);
"""


NOTIFY = """#!/bin/sh
# what the notify command gets: stdin, and (nothing on) the command line
cat >> {t}/log/notify.jsonl
echo "argv:$*" >> {t}/log/notify.argv
"""


def setup_instance(dc):
    asvc.setup_files(dc)
    path = os.path.join(dc.t, "etc", "notify.sh")
    with open(path, "w") as f:
        f.write(dc.fmt(NOTIFY))
    os.chmod(path, 0o755)


class Webhook:
    """An HTTPS receiver for the service's webhook (the test
    certificate), keeping what it was sent."""

    def __init__(self, port):
        self.port = port
        self.posts = []

    def start(self, cert, key):
        import http.server
        import ssl
        import threading
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                hook.posts.append((self.path, dict(self.headers),
                                   self.rfile.read(n)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", self.port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket,
                                             server_side=True)
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    asvc.require_service()
    port = asvc.new_port()
    hook = Webhook(asvc.new_port())
    inst = dovecot_factory(
        name="approval",
        policy=POLICY.replace("APPROVAL", asvc.approval_block(port)),
        extra=asvc.service_extra(
            port, asvc.SERVICE_ARGS +
            " notify_command={t}/etc/notify.sh lifetime=6s"
            " webhook=https://127.0.0.1:%d/hook"
            " webhook_ca_file={t}/etc/approval-cert.pem" % hook.port),
        setup_hook=setup_instance)
    hook.start(inst.approval_ca,
               os.path.join(inst.t, "etc", "approval-key.pem"))
    inst.webhook = hook
    inst.approval_port = port
    inst.client = asvc.Client(port, inst.approval_ca)
    inst.client.wait_up()
    yield inst
    hook.stop()


def new_id():
    return secrets.token_hex(16)


def test_post_is_pending_and_verifies(dc):
    rid = new_id()
    status, doc = dc.client.post(asvc.request_body(rid))
    assert status == 200
    assert doc["decision"] == "pending"
    assert doc["request_id"] == rid
    assert doc["poll_after"] >= 1
    status, doc = dc.client.poll(rid)
    assert status == 200 and doc["decision"] == "pending"
    assert dc.wait_log("new request %s" % rid)


def test_wrongly_signed_post_refused(dc):
    rid = new_id()
    body = asvc.request_body(rid)
    status, _ = dc.client.post(body, key=b"x" * 32)
    assert status == 401
    # signed over another body
    status, _ = dc.client.post(body, signature=dc.client.sign(
        "POST", "/v1/requests", 0, "0" * 32, b"{}"))
    assert status == 401
    # nothing was stored: a poll does not know it
    status, _ = dc.client.poll(rid)
    assert status == 404
    assert dc.wait_log("refused: bad signature")


def test_replayed_nonce_refused(dc):
    rid = new_id()
    body = asvc.request_body(rid)
    nonce = secrets.token_hex(16)
    status, _ = dc.client.post(body, nonce=nonce)
    assert status == 200
    # the very same signed bytes again
    status, data = dc.client.post(body, nonce=nonce)
    assert status == 409 and b"replayed nonce" in data


def test_stale_timestamp_refused(dc):
    import time
    status, _ = dc.client.post(asvc.request_body(new_id()),
                               ts=int(time.time()) - 400)
    assert status == 401


def test_retried_post_is_the_same_request(dc):
    rid = new_id()
    body = asvc.request_body(rid)
    assert dc.client.post(body)[0] == 200
    status, doc = dc.client.post(body)
    assert status == 200
    assert doc["request_id"] == rid and doc["decision"] == "pending"
    # the same id for another request
    status, _ = dc.client.post(asvc.request_body(rid, mailbox="Other"))
    assert status == 409


def test_malformed_request_refused(dc):
    body = b'{"version":1,"request_id":"nothex","user":"alice"}'
    status, _ = dc.client.post(body)
    assert status == 400


def test_pending_request_survives_restart(dc):
    rid = new_id()
    assert dc.client.post(asvc.request_body(rid))[0] == 200
    asvc.restart_service(dc)
    dc.client.wait_up()
    status, doc = dc.client.poll(rid)
    assert status == 200
    assert doc["decision"] == "pending" and doc["request_id"] == rid


def stepup(dc, *args):
    return subprocess.run(
        [built("stepup"), "--policy", dc.policy_path] + list(args) +
        ["--socket", os.path.join(dc.t, "run", "stepup-approval")],
        capture_output=True, text=True, timeout=30, env=dc.client_env())


def test_terminal_approve_deny_list(dc):
    approve, deny = new_id(), new_id()
    assert dc.client.post(asvc.request_body(approve))[0] == 200
    assert dc.client.post(asvc.request_body(deny, mailbox="Other\tx"))[0] \
        == 200
    r = stepup(dc, "--json", "approval", "list")
    assert r.returncode == 0, r.stderr
    listed = {x["request_id"]: x for x in json.loads(r.stdout)}
    assert listed[approve]["decision"] == "pending"
    assert listed[deny]["mailbox"] == "Other\tx"
    # longer than the rule's grant (15m): capped
    r = stepup(dc, "approval", "approve", approve, "--for", "2h",
               "--reason", "ticket 4711")
    assert r.returncode == 0, r.stderr
    assert "approved for 900 s" in r.stdout
    r = stepup(dc, "approval", "deny", deny, "--reason", "no")
    assert r.returncode == 0, r.stderr
    status, doc = dc.client.poll(approve)
    assert doc["decision"] == "approved" and doc["reason"] == "ticket 4711"
    assert doc["approver"].endswith("(terminal)")
    assert 890 <= doc["ttl"] <= 900
    status, doc = dc.client.poll(deny)
    assert doc["decision"] == "denied" and doc["reason"] == "no"
    # decided once
    r = stepup(dc, "approval", "deny", approve)
    assert r.returncode == 1 and "already approved" in r.stderr
    r = stepup(dc, "approval", "approve", new_id())
    assert r.returncode == 1 and "no such request" in r.stderr
    r = stepup(dc, "approval", "approve")
    assert r.returncode == 2


def test_notify_command_gets_the_request_on_stdin(dc):
    import time
    rid = new_id()
    name = 'Sec"ret\u00e9 `id` $(id)'
    assert dc.client.post(asvc.request_body(rid, mailbox=name))[0] == 200
    path = os.path.join(dc.t, "log", "notify.jsonl")
    deadline = time.monotonic() + 10
    found = None
    while found is None and time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    doc = json.loads(line)
                    if doc["request_id"] == rid:
                        found = doc
        time.sleep(0.1)
    assert found is not None, "notify_command never got the request"
    assert found["mailbox"] == name and found["user"] == "alice"
    assert found["binding_code"] == "42" and found["rule"] == "hr"
    with open(os.path.join(dc.t, "log", "notify.argv")) as f:
        assert set(f.read().split("\n")) <= {"argv:", ""}


def test_pending_request_expires(dc):
    import time
    rid = new_id()
    assert dc.client.post(asvc.request_body(rid))[0] == 200
    deadline = time.monotonic() + 20
    while True:
        status, doc = dc.client.poll(rid)
        if doc["decision"] != "pending":
            break
        assert time.monotonic() < deadline, "the request never expired"
        time.sleep(0.5)
    assert doc["decision"] == "expired"


def test_webhook_gets_the_request_signed(dc):
    import hashlib
    import hmac
    import time
    rid = new_id()
    assert dc.client.post(asvc.request_body(rid, mailbox="Sécu"))[0] == 200
    deadline = time.monotonic() + 10
    while True:
        posts = [p for p in dc.webhook.posts if rid.encode() in p[2]]
        if posts:
            break
        assert time.monotonic() < deadline, "the webhook got nothing"
        time.sleep(0.1)
    path, headers, body = posts[0]
    assert path == "/hook"
    doc = json.loads(body)
    assert doc["request_id"] == rid and doc["mailbox"] == "Sécu"
    # signed like a protocol response, with the approval key
    nonce, ts = headers["X-Stepup-Nonce"], headers["X-Stepup-Timestamp"]
    want = hmac.new(asvc.KEY, b"RESPONSE\n" + nonce.encode() + b"\n" +
                    ts.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    assert headers["X-Stepup-Signature"] == "v1=1:" + want
