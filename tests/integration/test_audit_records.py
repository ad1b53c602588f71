"""The audit log's login and policy records against a real Dovecot: a
refused login is a deny record with its reason (wrong password, wrong
code, lockout), a lockout and its end are records, a policy load, reload,
refused reload and change of mode are policy records with the file's
SHA-256."""

import hashlib
import imaplib
import json
import time

import pyotp
import pytest

from test_login import enroll

POLICY = """\
version = 1;
mode = "MODE";
totp = { issuer = "Test"; window = 1; max_failures = 2; lockout = "3s"; };
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
login = ( { name = "default"; require = "totp"; } );
folders = ( { name = "rest"; mailbox = "*"; require = "none"; } );
"""


def records(dc):
    with open(dc.fmt("{t}/log/audit.jsonl")) as f:
        return [json.loads(x) for x in f]


def login(dc, user, password):
    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port, timeout=30)
    try:
        imap.login(user, password)
        imap.logout()
        return True
    except imaplib.IMAP4.error:
        return False


def wait_records(dc, count, timeout=10):
    deadline = time.monotonic() + timeout
    while len(records(dc)) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return records(dc)


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    return dovecot_factory(name="records", users={"tot": "totpw"},
                           policy=POLICY.replace("MODE", "enforce"))


def test_refused_logins_are_deny_records(dc):
    secret, _ = enroll(dc, "tot")
    totp = pyotp.TOTP(secret)
    count = len(records(dc))
    assert not login(dc, "tot", "wrongpw" + totp.now())
    wrong = "%06d" % ((int(totp.now()) + 1) % 1000000)
    assert not login(dc, "tot", "totpw" + wrong)
    assert not login(dc, "tot", "totpw" + wrong)
    # locked: even the right code is refused
    assert not login(dc, "tot", "totpw" + totp.now())
    recs = [r for r in wait_records(dc, count + 6)[count:]
            if r["event"] == "login" and r["decision"] == "deny"]
    reasons = [r["reason"] for r in recs]
    assert reasons[0] == "wrong password (or unknown user)", reasons
    assert reasons[1].startswith("wrong code (1 consecutive")
    assert reasons[2].startswith("wrong code (2 consecutive")
    assert reasons[3].startswith("lockout started: 2 wrong codes, "
                                 "locked until ")
    assert reasons[4].startswith("locked out until ")
    for r in recs:
        assert r["user"] == "tot" and r["ip"] == "127.0.0.1"
        assert r["session"] and r["service"] == "imap"
    # the lockout ends: a record, then the login
    time.sleep(3.5)
    assert login(dc, "tot", "totpw" + totp.now())
    recs = [r for r in wait_records(dc, count + 9)[count:]
            if r["event"] == "login"]
    ended = [r for r in recs if r["reason"].startswith("lockout ended")]
    assert len(ended) == 1 and ended[0]["decision"] == "allow"
    assert recs[-1]["decision"] == "allow"
    assert recs[-1]["reason"] == "totp code verified"


def sha256(dc):
    with open(dc.policy_path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def policy_records(dc):
    return [r for r in records(dc) if r["event"] == "policy"]


def test_policy_changes_are_records(dc):
    [loaded] = [r for r in policy_records(dc)
                if r["reason"].startswith("loaded")][:1]
    assert loaded["decision"] == "allow" and loaded["service"] == "auth"
    assert loaded["mailbox"] == dc.policy_path
    assert loaded["reason"] == "loaded, mode enforce (sha256 %s)" % sha256(dc)
    count = len(policy_records(dc))
    time.sleep(1.1)
    dc.write_policy(POLICY.replace("MODE", "audit"))
    login(dc, "tot", "totpw")
    deadline = time.monotonic() + 10
    while len(policy_records(dc)) <= count and time.monotonic() < deadline:
        time.sleep(0.1)
    new = policy_records(dc)[count:]
    assert new[0]["reason"] == ("reloaded, mode changed from enforce to "
                                "audit (sha256 %s)" % sha256(dc)), new
    # a broken policy: refused, the last good one stays
    time.sleep(1.1)
    dc.write_policy(POLICY.replace("MODE", "audit") + "\nbogus = 1;\n")
    login(dc, "tot", "totpw")
    deadline = time.monotonic() + 10
    while len(policy_records(dc)) <= count + 1 and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    refused = policy_records(dc)[count + 1]
    assert refused["decision"] == "deny"
    assert refused["reason"].startswith("reload refused (the last good "
                                        "policy stays): ")
    assert refused["reason"].endswith("(sha256 %s)" % sha256(dc))
    dc.write_policy(POLICY.replace("MODE", "enforce"))
