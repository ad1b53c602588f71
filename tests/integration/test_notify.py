"""enrollment.notify: after an enrollment, a reset or a new app password
the stepup tool delivers a notice into the user's own INBOX through
Dovecot's LMTP; the test reads it over IMAP."""

import email
import email.policy
import imaplib
import json
import subprocess

import pyotp
import pytest

from dovecot_harness import built

POLICY = """\
version = 1;
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
enrollment = { notify = true; lmtp = "{t}/run/lmtp"; };
login = ( { name = "default"; require = "password"; } );
folders = ( { name = "rest"; mailbox = "*"; require = "none"; } );
"""

USERS = {"alice": "alicepw", "bob": "bobpw", "carol": "carolpw"}


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    return dovecot_factory(name="notify", users=USERS, policy=POLICY,
                           lmtp=True)


def stepup(dc, *args, stdin=None, policy=None):
    return subprocess.run([built("stepup"), "--policy",
                           policy or dc.policy_path] + list(args),
                          input=stdin, capture_output=True, text=True,
                          timeout=60, env=dc.client_env())


def enroll(dc, user, policy=None):
    proc = subprocess.Popen(
        [built("stepup"), "--policy", policy or dc.policy_path, "enroll",
         user, "--json"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=dc.client_env())
    secret = pyotp.parse_uri(json.loads(proc.stdout.readline())["uri"]).secret
    out, err = proc.communicate(pyotp.TOTP(secret).now() + "\n", timeout=60)
    assert proc.returncode == 0, out + err
    return secret, json.loads(out)["recovery_codes"], err


def inbox(dc, user, password=None):
    """Every message in the user's INBOX, parsed."""
    with imaplib.IMAP4("127.0.0.1", dc.imap_port, timeout=10) as imap:
        imap.login(user, password or USERS[user])
        imap.select("INBOX", readonly=True)
        _, data = imap.search(None, "ALL")
        msgs = []
        for num in data[0].split():
            _, parts = imap.fetch(num, "(RFC822)")
            msgs.append(email.message_from_bytes(
                parts[0][1], policy=email.policy.default))
        return msgs


def test_notices_after_enroll_app_password_reset(dc):
    secret, codes, err = enroll(dc, "alice")
    assert "not delivered" not in err
    msgs = inbox(dc, "alice")
    assert len(msgs) == 1
    msg = msgs[0]
    assert msg["Subject"] == "Your account's two-step verification changed"
    assert msg["Auto-Submitted"] == "auto-generated"
    body = msg.get_content()
    assert "Account: alice" in body
    assert "Two-step verification was switched on" in body
    assert "By: an administrator" in body
    # no secret of any kind
    raw = msg.as_string()
    assert secret not in raw and "otpauth" not in raw
    assert not any(c in raw for c in codes)

    r = stepup(dc, "app-password", "add", "alice", "--label", "phone",
               "--json")
    assert r.returncode == 0, r.stderr
    password = json.loads(r.stdout)["password"]
    r = stepup(dc, "reset", "alice")
    assert r.returncode == 0, r.stderr
    msgs = inbox(dc, "alice")
    assert len(msgs) == 3
    app, reset = msgs[1].get_content(), msgs[2].get_content()
    assert "A new app password was created" in app
    assert "Device: phone" in app and password not in msgs[1].as_string()
    assert "Two-step verification was removed" in reset
    # nobody else got anything
    assert inbox(dc, "bob") == []


def test_undeliverable_notice_keeps_the_change(dc, tmp_path):
    # LMTP not listening where the policy says: the enrollment stands,
    # the tool says so and the audit log records it
    policy = tmp_path / "stepup.conf"
    policy.write_text(open(dc.policy_path).read().replace(
        dc.lmtp_socket, str(tmp_path / "nolmtp")))
    policy.chmod(0o644)
    _, _, err = enroll(dc, "carol", policy=str(policy))
    assert "the notice to carol's INBOX was not delivered" in err
    st = json.loads(stepup(dc, "status", "carol", "--json").stdout)
    assert st["enrolled"] is True
    recs = [json.loads(line) for line in
            open(dc.t + "/log/audit.jsonl").read().splitlines()]
    rec = [r for r in recs if r["user"] == "carol"][-1]
    assert rec["event"] == "admin" and rec["decision"] == "deny"
    assert rec["reason"].startswith("notice not delivered: connect(")
