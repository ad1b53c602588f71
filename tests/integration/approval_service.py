"""The stepup-approval service in a test Dovecot: its configuration, a TLS
certificate for 127.0.0.1, and an independent protocol v1 client (Python's
hmac, written from SPEC "Approval endpoint — protocol version 1", sharing
no code with the C implementation)."""

import hashlib
import hmac
import http.client
import json
import os
import pwd
import secrets
import ssl
import subprocess
import time

import pytest

from dovecot_harness import built, by_version, free_port


def require_service():
    """Skip where the service is not built."""
    try:
        built("stepup-approval")
    except FileNotFoundError:
        pytest.skip("stepup-approval is not built (run make)")


SERVICE_ARGS = "auth_master_socket=stepup-approval-master"

KEY = b"k" * 16 + secrets.token_hex(16).encode()

# The service's block (doc/approvals.md): Dovecot's TLS settings for its
# listener with ssl = yes, ...
SERVICE_BLOCK = """\
service stepup-approval {{
  executable = {exe} {t}/etc/stepup.conf {args}
  user = dovecot
  process_limit = 1
  process_min_avail = 1
  inet_listener https {{
    {address} = 127.0.0.1
    port = {port}
    ssl = yes
  }}
  # stepup approval approve/deny/list
  unix_listener stepup-approval {{
    mode = 0600
  }}
}}
# the service asks for the session facts of its sign-ins, as imap does
service auth {{
  unix_listener stepup-approval-master {{
    mode = 0600
    user = dovecot
  }}
}}
"""

# ... which are ssl_cert/ssl_key in 2.3, ssl_server_*_file in 2.4 (the
# listener's address is "listen" there)
SERVICE_TLS_23 = """\
ssl = yes
ssl_cert = <{t}/etc/approval-cert.pem
ssl_key = <{t}/etc/approval-key.pem
"""
SERVICE_TLS_24 = """\
ssl = yes
ssl_server_cert_file = {t}/etc/approval-cert.pem
ssl_server_key_file = {t}/etc/approval-key.pem
"""

APPROVAL_BLOCK = """\
approval = {{ url = "https://127.0.0.1:{port}/v1/requests";
             key_file = "{{t}}/etc/approval.key";
             ca_file = "{{t}}/etc/approval-cert.pem";{more} }};
"""


def make_cert(etc):
    """A self-signed certificate for 127.0.0.1 (the test CA is itself)."""
    cert = os.path.join(etc, "approval-cert.pem")
    key = os.path.join(etc, "approval-key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert


def service_extra(port, args=""):
    tls = by_version(SERVICE_TLS_23, SERVICE_TLS_24)
    return tls.format(t="{t}") + SERVICE_BLOCK.format(
        t="{t}", exe=built("stepup-approval"), port=port, args=args,
        address=by_version("address", "listen"))


def approval_block(port, more=""):
    return APPROVAL_BLOCK.format(port=port, more=more)


def setup_files(dc):
    """Before start: the HMAC key (root's, 0600) and the certificate."""
    etc = os.path.join(dc.t, "etc")
    path = os.path.join(etc, "approval.key")
    with open(path, "wb") as f:
        f.write(KEY + b"\n")
    # readable by the plugin's side too (the stepup-audit service)
    os.chown(path, 0, pwd.getpwnam("dovecot").pw_gid)
    os.chmod(path, 0o640)
    dc.approval_ca = make_cert(etc)


def request_body(request_id, user="alice", mailbox="Confidentiel",
                 rule="hr", code="42", grant=900, **extra):
    now = int(time.time())
    body = {"version": 1, "request_id": request_id, "user": user,
            "mailbox": mailbox, "session": "S" + request_id[:8],
            "remote_ip": "192.0.2.10", "protocol": "imap",
            "client": "Thunderbird", "rule": rule, "auth": "password",
            "binding_code": code, "created": now, "expires": now + grant}
    body.update(extra)
    return json.dumps(body, separators=(",", ":")).encode()


class Client:
    """Speaks protocol v1 to the service, checks its signatures."""

    def __init__(self, port, ca, key=KEY, key_id="1"):
        self.port = port
        self.host = "127.0.0.1:%d" % port
        self.key = key
        self.key_id = key_id
        self.ctx = ssl.create_default_context(cafile=ca)

    def sign(self, method, path, ts, nonce, body, key=None):
        msg = b"\n".join([method.encode(), self.host.encode(),
                          path.encode(), str(ts).encode(), nonce.encode(),
                          body])
        mac = hmac.new(key or self.key, msg, hashlib.sha256).hexdigest()
        return "v1=%s:%s" % (self.key_id, mac)

    def exchange(self, method, path, body=b"", nonce=None, ts=None,
                 signature=None, key=None):
        """Returns (status, headers, body bytes, nonce)."""
        nonce = nonce or secrets.token_hex(16)
        ts = int(time.time()) if ts is None else ts
        headers = {"Host": self.host, "X-Stepup-Timestamp": str(ts),
                   "X-Stepup-Nonce": nonce,
                   "X-Stepup-Signature": signature or
                   self.sign(method, path, ts, nonce, body, key)}
        if method == "POST":
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                           context=self.ctx, timeout=10)
        try:
            conn.request(method, path, body=body if method == "POST" else
                         None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, dict(resp.getheaders()), data, nonce
        finally:
            conn.close()

    def verify(self, headers, data, nonce):
        """The published response check; returns the decoded JSON."""
        ts = headers["X-Stepup-Timestamp"]
        assert abs(int(ts) - time.time()) <= 300
        msg = b"RESPONSE\n" + nonce.encode() + b"\n" + ts.encode() + \
            b"\n" + data
        want = hmac.new(self.key, msg, hashlib.sha256).hexdigest()
        values = headers["X-Stepup-Signature"].split()
        assert any(hmac.compare_digest(v, "v1=%s:%s" % (self.key_id, want))
                   for v in values), "response signature does not verify"
        doc = json.loads(data)
        assert doc["nonce"] == nonce
        return doc

    def post(self, body, **kw):
        status, headers, data, nonce = self.exchange(
            "POST", "/v1/requests", body, **kw)
        if status != 200:
            return status, data
        return status, self.verify(headers, data, nonce)

    def poll(self, request_id, **kw):
        status, headers, data, nonce = self.exchange(
            "GET", "/v1/requests/" + request_id, **kw)
        if status != 200:
            return status, data
        return status, self.verify(headers, data, nonce)

    def wait_up(self, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.poll("0" * 32)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def service_pids(dc):
    """PIDs of this instance's stepup-approval processes (Dovecot rewrites
    their titles: found by executable and by the policy argument)."""
    exe = built("stepup-approval")
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            # the same file (in a chroot, /proc names it from the real
            # root)
            if not os.path.samefile("/proc/%s/exe" % pid, exe):
                continue
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if dc.policy_path.encode() not in f.read():
                    continue
        except OSError:
            continue
        pids.append(int(pid))
    return pids


def restart_service(dc):
    """Stop the service process; Dovecot starts a new one on the next
    connection, which reads the store back."""
    pids = service_pids(dc)
    assert pids, "stepup-approval is not running"
    for pid in pids:
        os.kill(pid, 15)
    deadline = time.monotonic() + 10
    while any(os.path.exists("/proc/%d" % p) for p in pids):
        assert time.monotonic() < deadline, "stepup-approval did not stop"
        time.sleep(0.05)


def new_port():
    return free_port()
