"""doc/approvals.md's service block, the one for the Dovecot found (2.3 or
2.4), in a test Dovecot with only its paths and port changed: the service
starts, speaks the protocol over TLS and signs an approver in through
Dovecot's auth with password and code (which needs the auth master socket
the block declares). No browser: the sign-in form is posted by hand."""

import http.client
import os
import re
import secrets
import ssl
import time
import urllib.parse

import pyotp
import pytest

import approval_service as asvc
from dovecot_harness import built
from test_approval_service import POLICY
from test_login import enroll

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                   "..", "..", "doc", "approvals.md")
GUIDE = os.path.join(os.path.dirname(DOC), "admin-guide.md")

USERS = {"carol": "carolpw"}


def code_blocks():
    blocks, block = [], None
    with open(DOC, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                if block is None:
                    block = ""
                else:
                    blocks.append(block)
                    block = None
            elif block is not None:
                block += line
    return blocks


def service_lines(block):
    """The service blocks' lines, without comments and indentation."""
    block = block[block.index("service stepup-approval {"):]
    lines = (line.split("#")[0].strip() for line in block.splitlines())
    return [line for line in lines if line]


def doc_block():
    """The guide's block for this Dovecot, as a test instance needs it:
    the built service, the instance's policy, certificate and port."""
    title = asvc.by_version("Dovecot 2.3", "Dovecot 2.4")
    blocks = [b for b in code_blocks()
              if b.startswith("# ") and "service stepup-approval {" in b
              and title in b.splitlines()[0]]
    assert len(blocks) == 1, "no single %s block in %s" % (title, DOC)
    block = blocks[0]
    exe = "executable = stepup-approval /etc/dovecot/stepup.conf"
    assert exe in block
    block = block.replace(exe, "executable = %s {t}/etc/stepup.conf" %
                          built("stepup-approval"))
    for path, ours in (("/etc/dovecot/private/dovecot.pem",
                        "{t}/etc/approval-cert.pem"),
                       ("/etc/dovecot/private/dovecot.key",
                        "{t}/etc/approval-key.pem")):
        block = block.replace(path, ours)
    assert "port = 8443" in block
    # 2.3's block takes Dovecot's ssl_cert/ssl_key as they are
    return asvc.by_version(asvc.SERVICE_TLS_23, ""), block


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    asvc.require_service()
    port = asvc.new_port()
    tls, block = doc_block()
    inst = dovecot_factory(
        name="approvalguide", users=USERS,
        policy=POLICY.replace("APPROVAL", asvc.approval_block(
            port, ' approvers = [ "carol" ];')),
        extra=tls + block.replace("port = 8443", "port = %d" % port),
        setup_hook=asvc.setup_files)
    inst.port = port
    inst.client = asvc.Client(port, inst.approval_ca)
    inst.client.wait_up()
    return inst


def page(dc, method, path, body=None, cookie=None):
    ctx = ssl.create_default_context(cafile=dc.approval_ca)
    conn = http.client.HTTPSConnection("127.0.0.1", dc.port, context=ctx,
                                       timeout=15)
    headers = {}
    if cookie:
        headers["Cookie"] = cookie
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp, resp.read().decode()
    finally:
        conn.close()


def test_guide_block_serves_the_protocol(dc):
    rid = secrets.token_hex(16)
    status, doc = dc.client.post(asvc.request_body(rid))
    assert status == 200 and doc["decision"] == "pending"


def test_guide_block_signs_an_approver_in(dc):
    totp = pyotp.TOTP(enroll(dc, "carol")[0])
    rid = secrets.token_hex(16)
    status, _ = dc.client.post(asvc.request_body(rid, user="alice"))
    assert status == 200
    resp, text = page(dc, "GET", "/")
    assert resp.status == 200
    pre = resp.getheader("Set-Cookie").split(";")[0]
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', text).group(1)
    form = urllib.parse.urlencode({
        "user": "carol", "password": USERS["carol"],
        "code": totp.at(time.time()), "csrf": csrf})
    resp, text = page(dc, "POST", "/signin", form, cookie=pre)
    cookies = resp.getheader("Set-Cookie") or ""
    assert resp.status == 200
    assert "__Host-stepup-approval=" in cookies, (
        text[:300], dc.log_tail(20))
    # the approver's list, with the pending request
    assert rid in text
    assert dc.wait_log("carol signed in as approver")


def test_admin_guide_2_4_block_is_the_approvals_guide_one():
    """doc/admin-guide.md's 2.4 section shows the block tested above."""
    text = open(GUIDE, encoding="utf-8").read()
    part = text[text.index("**The approval service on 2.4**"):]
    part = part[:part.index("\n## ")]
    guide = "\n".join(line[4:] for line in part.splitlines()
                      if line.startswith("    "))
    doc = [b for b in code_blocks() if b.startswith("# ") and
           "Dovecot 2.4" in b.splitlines()[0]]
    assert len(doc) == 1
    assert service_lines(guide) == service_lines(doc[0])
