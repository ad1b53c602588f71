"""Reconnects (totp.reconnect): webmail and multi-connection clients that
replay the password+code string they saved, against a real Dovecot, with
codes from pyotp."""

import imaplib
import json
import threading
import time

import pyotp
import pytest

from test_login import SourceIMAP4, enroll, stepup

POLICY = """\
version = 1;
totp = { issuer = "Test"; period = 10; window = 1; max_failures = 10;
         lockout = "1m"; reconnect = "RECONNECT"; reconnect_idle = "6s"; };
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
login = ( { name = "default"; require = "totp"; } );
folders = (
  { name = "direction"; mailbox = "Direction"; require = "totp"; max_age = "3s"; },
  { name = "rest"; mailbox = "*"; require = "none"; }
);
"""

USERS = ("web", "desk", "far", "idle", "rst", "pwchg", "fold", "para")


def start(factory, reconnect):
    dc = factory(name="reconnect", users={u: u + "pw" for u in USERS},
                 policy=POLICY.replace("RECONNECT", reconnect))
    dc.totp = {}
    for user in USERS:
        secret, _ = enroll(dc, user)
        dc.totp[user] = pyotp.TOTP(secret, interval=10)
    return dc


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    return start(dovecot_factory, "1h")


def login(dc, user, string, source="127.0.0.1", select=None):
    """(logged in?, text, SELECT result or None)"""
    imap = SourceIMAP4(dc.imap_port, source)
    try:
        imap.login(user, string)
    except imaplib.IMAP4.error as e:
        imap.shutdown()
        return False, str(e), None
    selected = None
    if select:
        typ, data = imap.select(select)
        selected = (typ, data[0].decode() if data and data[0] else "")
    imap.logout()
    return True, "", selected


def audit(dc, user):
    with open(dc.fmt("{t}/log/audit.jsonl")) as f:
        return [r for r in map(json.loads, f) if r["user"] == user]


def test_webmail_logs_in_again_and_again(dc):
    string = "webpw" + dc.totp["web"].now()
    start_time = time.monotonic()
    for i in range(20):
        ok, text, _ = login(dc, "web", string)
        assert ok, "login %d: %s" % (i, text)
        time.sleep(0.6)
    # more than one TOTP period (10 s): the code itself has expired
    assert time.monotonic() - start_time > 11
    records = [r for r in audit(dc, "web") if r["reason"].startswith(
        "reconnect")]
    assert len(records) == 19
    assert all(r["decision"] == "allow" and r["auth"] == "totp"
               for r in records)
    st = json.loads(stepup(dc, "status", "web", "--json").stdout)
    grants = st["reconnect_grants"]
    assert len(grants) == 1 and grants[0]["ip"] == "127.0.0.1"
    assert "webpw" not in json.dumps(st)


def parallel_logins(dc, user, string, n=5):
    results = []
    lock = threading.Lock()

    def one():
        ok, text, _ = login(dc, user, string)
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_five_parallel_connections_all_succeed(dc):
    results = parallel_logins(dc, "para", "parapw" + dc.totp["para"].now())
    assert results.count(True) == 5


def test_five_parallel_connections_without_reconnect(dovecot_factory):
    off = start(dovecot_factory, "0")
    results = parallel_logins(off, "para", "parapw" + off.totp["para"].now())
    assert results.count(True) == 1


def test_other_source_address_is_a_replay(dc):
    string = "farpw" + dc.totp["far"].now()
    assert login(dc, "far", string)[0]
    ok, text, _ = login(dc, "far", string, source="127.0.0.2")
    assert not ok
    assert "already used" in text
    assert login(dc, "far", string)[0]


def test_wrong_password_with_old_code_reveals_nothing(dc):
    string = "pwchgpw" + dc.totp["pwchg"].now()
    assert login(dc, "pwchg", string)[0]
    ok, text, _ = login(dc, "pwchg", "changed" + string[-6:])
    assert not ok
    assert "AUTHENTICATIONFAILED" in text and "code" not in text


def test_reset_ends_reconnects(dc):
    string = "rstpw" + dc.totp["rst"].now()
    assert login(dc, "rst", string)[0]
    assert login(dc, "rst", string)[0]
    r = stepup(dc, "reset", "rst")
    assert r.returncode == 0, r.stderr
    ok, text, _ = login(dc, "rst", string)
    assert not ok


def test_folder_max_age_counts_from_the_real_code(dc):
    string = "foldpw" + dc.totp["fold"].now()
    ok, _, sel = login(dc, "fold", string, select="Direction")
    assert ok and sel[0] == "NO"        # the folder does not exist yet...
    assert "NOPERM" not in sel[1]       # ...but access was allowed
    time.sleep(4.2)                     # max_age = 3s; reconnect_idle = 6s
    ok, text, sel = login(dc, "fold", string, select="Direction")
    assert ok, text                     # the reconnect itself is fine
    assert sel[0] == "NO" and "two-step login" in sel[1]
    # a fresh code gives a fresh verification time
    ok, _, sel = login(dc, "fold", "foldpw" + dc.totp["fold"].at(
        time.time() + 10), select="Direction")
    assert ok and "NOPERM" not in sel[1]


def test_idle_reconnect_expires(dc):
    string = "idlepw" + dc.totp["idle"].now()
    assert login(dc, "idle", string)[0]
    time.sleep(7.2)                     # reconnect_idle = 6s (whole seconds)
    ok, text, _ = login(dc, "idle", string)
    assert not ok


def test_userdb_cannot_forge_session_facts(dovecot_factory):
    """A userdb that sets stepup_level=totp (an LDAP attribute, a
    passwd-file extra) gives no level: the facts are signed by the
    passdb."""
    forged = ("userdb_stepup_level=totp userdb_stepup_mfa_time=%d "
              "userdb_stepup_rule=default" % int(time.time()))
    policy = POLICY.replace("RECONNECT", "0").replace(
        'login = ( { name = "default"; require = "totp"; } );',
        'login = ( { name = "default"; require = "password"; } );')
    inst = dovecot_factory(name="forge", users={"mal": "malpw",
                                                "ok": "okpw"},
                           policy=policy, userdb_extra={"mal": forged})
    mark = inst.log_mark()
    ok, _, sel = login(inst, "mal", "malpw", select="Direction")
    assert ok
    assert sel[0] == "NO" and "two-step login" in sel[1]
    assert "do not match the session key (set by a userdb" in \
        inst.log_since(mark)
    # an honest password session: the same refusal, and no warning
    mark = inst.log_mark()
    ok, _, sel = login(inst, "ok", "okpw", select="Direction")
    assert ok and "two-step login" in sel[1]
    assert "do not match the session key" not in inst.log_since(mark)
