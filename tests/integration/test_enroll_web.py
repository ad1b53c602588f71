"""The self-service enrollment page of the stepup-approval service in a
real browser (headless Chromium) against a real Dovecot: sign-in with the
password alone for users who are not enrolled, invitations (stepup
invite), enrollment.networks, the QR code and otpauth URI (the test reads
the secret from the URI shown and makes codes with pyotp), recovery codes
shown once and downloadable once, re-enrollment, IMAP logins afterwards,
the notices in the INBOX (enrollment.notify, fetched over IMAP) and the
audit records of every step. Screenshots go to the build directory
(doc/enrollment.md refers to them)."""

import hashlib
import http.client
import json
import os
import re
import ssl
import subprocess
import time

import pyotp
import pytest

import approval_service as asvc
import browser
from browser import browsers  # noqa: F401 (a fixture)
from dovecot_harness import built
from test_login import enroll, imap_login
from test_notify import inbox

pytestmark = pytest.mark.skipif(not browser.available(),
                                reason="chromium, chromium-driver or "
                                "python3-selenium missing (scripts/deps.sh)")

POLICY = """\
version = 1;
totp = { issuer = "Test"; digits = 6; period = 30; window = 1;
         max_failures = 5; lockout = "10m"; };
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
networks = { internal = [ "NETWORK" ]; };
enrollment = { invite = true; networks = [ "internal" ]; notify = true;
               lmtp = "{t}/run/lmtp"; app_password_max = "30d"; };
APPROVAL
login = ( { name = "default"; require = "totp"; enroll_by = "2099-12-31"; } );
folders = ( { name = "rest"; mailbox = "*"; require = "none"; } );
"""

USERS = {u: u + "pw" for u in ("alice", "bob", "carol", "dave", "erin",
                                "frank", "gail", "hank", "ivan",
                                "frank2")}
SESSION_COOKIE = "__Host-stepup-approval"


def policy_text(port, network="127.0.0.0/8"):
    return POLICY.replace("NETWORK", network).replace(
        "APPROVAL", asvc.approval_block(port))


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    asvc.require_service()
    port = asvc.new_port()
    inst = dovecot_factory(
        name="enrollweb", users=USERS, policy=policy_text(port),
        extra=asvc.service_extra(port, asvc.SERVICE_ARGS),
        setup_hook=asvc.setup_files, lmtp=True)
    inst.port = port
    inst.url = "https://127.0.0.1:%d/" % port
    inst.client = asvc.Client(port, inst.approval_ca)
    inst.client.wait_up()
    return inst


def stepup(dc, *args, stdin=None):
    return subprocess.run([built("stepup"), "--policy", dc.policy_path] +
                          list(args), input=stdin, capture_output=True,
                          text=True, timeout=60, env=dc.client_env())


def invite(dc, user, *extra):
    r = stepup(dc, "invite", user, "--json", *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["invite"]


def audit(dc):
    return [json.loads(line) for line in
            open(os.path.join(dc.t, "log", "audit.jsonl")).read().splitlines()]


def last_record(dc, user, event="enroll"):
    recs = [r for r in audit(dc) if r["user"] == user and r["event"] == event]
    assert recs, "no %s record of %s" % (event, user)
    return recs[-1]


def sign_in(dc, b, user, code=""):
    b.get(dc.url)
    b.find("input[name=user]").send_keys(user)
    b.find("input[name=password]").send_keys(USERS[user])
    if code:
        b.find("input[name=code]").send_keys(code)
    b.submit(b.find("form[action=signin] button"))
    return b.text()


def begin(b, invite_code=None, proof=None):
    if invite_code is not None:
        b.find("input[name=invite]").send_keys(invite_code)
    if proof is not None:
        b.find("input[name=proof]").send_keys(proof)
    b.submit(b.find("form[action=enroll-begin] button"))
    return b.text()


def shown_secret(b):
    """The secret, read from the otpauth URI the page shows."""
    uri = b.find("#uri a").text
    assert uri == b.find("#uri a").get_attribute("href")
    totp = pyotp.parse_uri(uri)
    assert uri.startswith("otpauth://totp/Test:")
    return totp.secret


def confirm(b, code):
    b.find("form[action=enroll-confirm] input[name=code]").send_keys(code)
    b.submit(b.find("form[action=enroll-confirm] button"))
    return b.text()


def enroll_on_page(dc, b, user, invite_code=None, proof=None, shots=None):
    """Through the page: returns (secret, recovery codes, the page)."""
    begin(b, invite_code=invite_code, proof=proof)
    # the QR code is inline SVG: no image request, nothing external
    assert b.find_all("svg.qr path")
    assert b.find_all("img") == []
    assert b.fits_screen()
    if shots:
        b.screenshot(shots + "-scan")
    secret = shown_secret(b)
    text = confirm(b, pyotp.TOTP(secret).now())
    assert "Your recovery codes" in text, text
    codes = [li.text for li in b.find_all("#recovery-codes li")]
    assert len(codes) == 10
    assert all(re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", c)
               for c in codes), codes
    assert b.fits_screen()
    if shots:
        b.screenshot(shots + "-recovery-codes")
    return secret, codes, text


def https_get(dc, path, session):
    ctx = ssl.create_default_context(cafile=dc.approval_ca)
    conn = http.client.HTTPSConnection("127.0.0.1", dc.port, context=ctx,
                                       timeout=10)
    try:
        conn.request("GET", path, headers={
            "Cookie": "%s=%s" % (SESSION_COOKIE, session)})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode()
    finally:
        conn.close()


def next_code(secret):
    """A code of the next time step: the page's confirmation used this
    step's (window = 1 accepts it)."""
    totp = pyotp.TOTP(secret)
    return totp.at(time.time() + totp.interval)


def wait_notices(dc, user, count, recovery_codes):
    """The notices are delivered without the page waiting for them: look
    (bounded) until count are there, logging in with recovery codes."""
    deadline = time.monotonic() + 20
    while True:
        msgs = inbox(dc, user, USERS[user] + recovery_codes.pop())
        if len(msgs) >= count or time.monotonic() > deadline:
            return msgs
        time.sleep(0.5)


def test_enroll_with_invitation(dc, browsers):
    code = invite(dc, "alice")
    b = browsers()
    b.get(dc.url)
    b.screenshot("enroll-01-sign-in")
    text = sign_in(dc, b, "alice")
    assert "Set up two-step verification" in text
    # signed in with the password alone: the enrollment page only
    assert b.find_all("nav") == []
    assert b.fits_screen()
    b.screenshot("enroll-02-invitation")
    secret, codes, text = enroll_on_page(dc, b, "alice", invite_code=code,
                                         shots="enroll-03")
    assert "Two-step verification is on" in text
    # the download works once, for this session only
    session = b.cookie(SESSION_COOKIE)["value"]
    href = b.find("#download").get_attribute("href")
    path = "/" + href.split("/", 3)[3]
    status, headers, body = https_get(dc, path, "0" * 64)
    assert "Sign in" in body and not any(c in body for c in codes)
    status, headers, body = https_get(dc, path, session)
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain")
    assert "attachment" in headers["Content-Disposition"]
    assert all(c in body for c in codes)
    status, _, body = https_get(dc, path, session)
    assert status == 404 and not any(c in body for c in codes)
    # leaving the page forgets the codes: not shown again
    b.get(dc.url + "enroll")
    assert not any(c in b.text() for c in codes)
    assert "Sign out, then sign in" in b.text()

    # IMAP: the password alone is no longer enough (enrolled), the
    # password + a code is
    ok, text, _ = imap_login(dc, "alice", USERS["alice"])
    assert not ok
    ok, text, _ = imap_login(dc, "alice", USERS["alice"] + next_code(secret))
    assert ok, text
    # each recovery code works once
    for rc in codes[:2]:
        ok, text, _ = imap_login(dc, "alice", USERS["alice"] + rc)
        assert ok, text
        ok, _, _ = imap_login(dc, "alice", USERS["alice"] + rc)
        assert not ok

    rec = last_record(dc, "alice")
    assert rec["decision"] == "allow" and rec["service"] == "stepup-approval"
    assert rec["reason"] == "TOTP enrolled" and rec["by"] == "self"
    assert rec["ip"] == "127.0.0.1"
    log = open(os.path.join(dc.t, "log", "audit.jsonl")).read()
    assert secret not in log and code not in log
    assert not any(c in log for c in codes)
    assert stepup(dc, "audit", "verify").returncode == 0

    # enrollment.notify: the notice is in alice's INBOX
    msgs = wait_notices(dc, "alice", 1, codes[2:])
    assert len(msgs) == 1
    body = msgs[0].get_content()
    assert "Two-step verification was switched on" in body
    assert "you (self-service)" in body
    assert secret not in msgs[0].as_string()


def test_without_invitation_refused(dc, browsers):
    b = browsers()
    sign_in(dc, b, "bob")
    # the form asks for it; a request without it is refused all the same
    b.driver.execute_script(
        "document.querySelector('input[name=invite]').removeAttribute("
        "'required')")
    text = begin(b)
    assert "Refused: an invitation code is needed" in text
    assert b.find_all("svg.qr") == []
    b.screenshot("enroll-04-refused")
    rec = last_record(dc, "bob")
    assert (rec["decision"], rec["reason"]) == (
        "deny", "an invitation code is needed")
    assert json.loads(stepup(dc, "status", "bob", "--json").stdout)[
        "enrolled"] is False


def test_outside_networks_refused(dc, browsers):
    code = invite(dc, "carol")
    dc.write_policy(policy_text(dc.port, network="10.0.0.0/8"))
    try:
        b = browsers()
        sign_in(dc, b, "carol")
        text = begin(b, invite_code=code)
        assert "not allowed from this network" in text
        assert b.find_all("svg.qr") == []
    finally:
        dc.write_policy(policy_text(dc.port))
    rec = last_record(dc, "carol")
    assert rec["decision"] == "deny"
    assert rec["reason"] == ("enrollment is not allowed from "
                             "this network")
    # the invitation was not used up: from inside it works
    b = browsers()
    sign_in(dc, b, "carol")
    enroll_on_page(dc, b, "carol", invite_code=code)


def test_second_enrollment_needs_current_code(dc, browsers):
    old, old_codes = enroll(dc, "dave")
    b = browsers()
    # enrolled: the password alone does not sign in
    text = sign_in(dc, b, "dave")
    assert "Sign-in failed" in text
    assert b.cookie(SESSION_COOKIE) is None
    # (refused by the login rule already, as IMAP would be)
    rec = last_record(dc, "dave", event="login")
    assert rec["decision"] == "deny" and rec["service"] == "stepup-approval"
    # signed in with a code: a new phone needs a current code too
    sign_in(dc, b, "dave", code=pyotp.TOTP(old).now())
    b.get(dc.url + "enroll")
    assert "New phone" in b.text()
    text = begin(b, proof="000000")
    assert "Refused: re-enrollment: wrong code" in text
    assert b.find_all("svg.qr") == []
    b.screenshot("enroll-05-new-phone")
    assert last_record(dc, "dave")["reason"] == \
        "re-enrollment: wrong code"
    # a recovery code of the old phone: a new secret
    new, codes, text = enroll_on_page(dc, b, "dave", proof=old_codes[0],
                                      shots="enroll-06")
    assert "moved to your new phone" in text
    assert new != old and not set(codes) & set(old_codes)
    assert last_record(dc, "dave")["reason"].startswith(
        "TOTP re-enrolled")
    # the old secret and recovery codes are gone
    ok, _, _ = imap_login(dc, "dave", USERS["dave"] + old_codes[1])
    assert not ok
    ok, _, _ = imap_login(dc, "dave", USERS["dave"] +
                          pyotp.TOTP(old).at(time.time() + 30))
    assert not ok
    ok, text, _ = imap_login(dc, "dave", USERS["dave"] + next_code(new))
    assert ok, text


def test_reenrollment_ends_approval_grants(dc, browsers):
    secret, codes = enroll(dc, "ivan")
    # an approved request of ivan's in the service's store ...
    rid = "ab" * 16
    status, doc = dc.client.post(asvc.request_body(rid, user="ivan",
                                                   rule="rest"))
    assert status == 200 and doc["decision"] == "pending"
    r = stepup(dc, "approval", "approve", rid, "--socket",
               os.path.join(dc.t, "run", "stepup-approval"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert dc.client.poll(rid)[1]["decision"] == "approved"
    # ... ends with the re-enrollment
    b = browsers()
    sign_in(dc, b, "ivan", code=pyotp.TOTP(secret).now())
    b.get(dc.url + "enroll")
    enroll_on_page(dc, b, "ivan", proof=codes[0])
    assert dc.client.poll(rid)[1]["decision"] == "expired"
    # and one approved afterwards ends with stepup reset
    rid = "cd" * 16
    assert dc.client.post(asvc.request_body(rid, user="ivan",
                                            rule="rest"))[0] == 200
    socket = os.path.join(dc.t, "run", "stepup-approval")
    assert stepup(dc, "approval", "approve", rid, "--socket",
                  socket).returncode == 0
    assert dc.client.poll(rid)[1]["decision"] == "approved"
    r = stepup(dc, "reset", "ivan", "--socket", socket)
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    assert dc.client.poll(rid)[1]["decision"] == "expired"


def state_file(dc, user):
    return os.path.join(dc.state_dir, hashlib.sha256(user.encode())
                        .hexdigest())


def refused_invitation(dc, browsers, user, code, reason):
    b = browsers()
    sign_in(dc, b, user)
    text = begin(b, invite_code=code)
    assert "Refused: %s" % reason in text
    assert b.find_all("svg.qr") == []
    assert last_record(dc, user)["reason"] == reason


def test_bad_invitations_refused_and_audited(dc, browsers):
    # replayed: used by an enrollment, then the admin resets the user
    code = invite(dc, "erin")
    b = browsers()
    sign_in(dc, b, "erin")
    enroll_on_page(dc, b, "erin", invite_code=code)
    assert stepup(dc, "reset", "erin").returncode == 0
    refused_invitation(dc, browsers, "erin", code,
                       "invitation code already used")

    # another user's
    frank = invite(dc, "frank")
    invite(dc, "gail")
    refused_invitation(dc, browsers, "gail", frank,
                       "wrong invitation code")

    # expired: a day later (the record's expiry moved into the past)
    code = invite(dc, "hank", "--expires", "1d")
    path = state_file(dc, "hank")
    text = open(path).read()
    fields = re.search(r"^invite\t(\w+)\t(\d+)\t(\d+)\t0$", text, re.M)
    assert fields, text
    with open(path, "w") as f:
        f.write(text.replace(fields.group(0), "invite\t%s\t%s\t%d\t0" % (
            fields.group(1), fields.group(2), int(fields.group(2)) - 1)))
    refused_invitation(dc, browsers, "hank", code, "invitation code expired")
    for user in ("erin", "gail", "hank"):
        assert json.loads(stepup(dc, "status", user, "--json").stdout)[
            "enrolled"] is False
    assert stepup(dc, "audit", "verify").returncode == 0


def test_app_password_self_service(dc, browsers):
    secret, codes = enroll(dc, "frank2")
    b = browsers()
    sign_in(dc, b, "frank2", code=pyotp.TOTP(secret).now())
    b.get(dc.url + "app-passwords")
    assert "None." in b.find("#app-passwords").text
    b.find("input[name=label]").send_keys("phone <b>")
    # at most the policy's app_password_max (30d): longer is not offered
    days = [o.get_attribute("value") for o in
            b.find_all("select[name=days] option")]
    assert days == ["7", "30"]
    b.find("input[name=networks]").send_keys("127.0.0.0/8, ::1/128")
    b.find("input[name=proto_imap]").click()
    b.submit(b.find("form[action=app-password-add] button"))
    password = b.find("#app-password").text
    assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3,}", password) or \
        len(password) >= 16, password
    row = b.find("#app-passwords tbody tr").text
    assert "phone <b>" in row and "127.0.0.0/8,::1/128" in row
    assert "imap" in row
    assert b.find_all("#app-passwords b") == []
    assert b.fits_screen()
    b.screenshot("enroll-07-app-password")
    # shown once: not on the next view
    b.get(dc.url + "app-passwords")
    assert password not in b.text()
    rec = last_record(dc, "frank2", event="admin")
    assert rec["decision"] == "allow" and rec["reason"].startswith(
        "app password 'phone <b>' added (30 days")
    assert rec["by"] == "self" and rec["service"] == "stepup-approval"
    assert password not in open(os.path.join(dc.t, "log",
                                              "audit.jsonl")).read()

    # it logs in over IMAP (no code), POP3 is not allowed for it
    ok, text, _ = imap_login(dc, "frank2", password)
    assert ok, text
    st = json.loads(stepup(dc, "status", "frank2", "--json").stdout)
    assert [a["label"] for a in st["app_passwords"]] == ["phone <b>"]

    # with notify: the notice is in the INBOX (read with the app password)
    deadline = time.monotonic() + 20
    while True:
        msgs = inbox(dc, "frank2", password)
        if any("A new app password" in m.get_content() for m in msgs) or \
                time.monotonic() > deadline:
            break
        time.sleep(0.5)
    notice = [m for m in msgs if "A new app password" in m.get_content()]
    assert len(notice) == 1
    assert "Device: phone <b>" in notice[0].get_content()
    assert password not in notice[0].as_string()

    # revoked: refused
    b.submit(b.find("#app-passwords form[action=app-password-revoke] "
                    "button"))
    assert "Revoked: phone <b>." in b.text()
    assert "None." in b.find("#app-passwords").text
    ok, _, _ = imap_login(dc, "frank2", password)
    assert not ok
    rec = last_record(dc, "frank2", event="admin")
    assert rec["reason"] == "app password 'phone <b>' revoked"
    assert stepup(dc, "audit", "verify").returncode == 0


def test_app_passwords_need_a_code_sign_in(dc, browsers):
    # a password-only session (not enrolled) has no app passwords page
    b = browsers()
    sign_in(dc, b, "gail")
    b.get(dc.url + "app-passwords")
    assert b.find_all("form[action=app-password-add]") == []
    assert "two-step verification" in b.text().lower()
