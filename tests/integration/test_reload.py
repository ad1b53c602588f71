"""Policy reloads in a running Dovecot: a changed file takes effect without
a restart (in the auth process and in open IMAP sessions), a bad new file
keeps the last good policy and logs every error, and a process that never
had a good policy refuses (fail closed)."""

import imaplib
import time

import pytest

GOOD = """\
version = 1;
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
login = ( { name = "default"; require = "password"; } );
folders = ( { name = "rest"; mailbox = "*"; require = "none"; } );
"""

# alice may no longer log in; Notes becomes a deny folder
CHANGED = """\
version = 1;
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
login = (
  { name = "noalice"; users = [ "alice" ]; require = "deny"; },
  { name = "default"; require = "password"; }
);
folders = (
  { name = "notes"; mailbox = "Notes"; require = "deny"; },
  { name = "rest"; mailbox = "*"; require = "none"; }
);
"""

# two errors: an unknown key and a bad CIDR
BAD = """\
version = 1;
state = { path = "{t}/state"; };
colour = "blue";
login = ( { name = "default"; networks = [ "10.0.0.0/33" ];
            require = "password"; } );
"""


def imap(dc, user):
    conn = imaplib.IMAP4("127.0.0.1", dc.imap_port, timeout=10)
    conn.login(user, user + "pw")
    return conn


def can_login(dc, user):
    try:
        imap(dc, user).logout()
        return True
    except imaplib.IMAP4.error:
        return False


def install(dc, text):
    """Replace the policy; every process looks at the file at most once a
    second, so wait for the next second."""
    dc.write_policy(text)
    time.sleep(1.1)


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    inst = dovecot_factory(name="reload", users={"alice": "alicepw",
                                                 "bob": "bobpw"},
                           policy=GOOD)
    r = inst.doveadm("mailbox", "create", "-u", "bob", "Notes")
    assert r.returncode == 0, r.stderr
    return inst


def test_changes_apply_then_a_bad_file_keeps_the_last_good(dc):
    assert can_login(dc, "alice")
    session = imap(dc, "bob")           # an IMAP session that stays open
    assert session.select("Notes")[0] == "OK"

    mark = dc.log_mark()
    install(dc, CHANGED)
    assert not can_login(dc, "alice")
    assert can_login(dc, "bob")
    assert session.select("Notes")[0] == "NO"   # the open session too
    assert imap(dc, "bob").select("Notes")[0] == "NO"
    assert "policy %s reloaded" % dc.policy_path in dc.log_since(mark)

    mark = dc.log_mark()
    install(dc, BAD)
    # the auth process and the open session keep CHANGED
    assert not can_login(dc, "alice")
    assert session.select("Notes")[0] == "NO"
    assert session.select("INBOX")[0] == "OK"
    session.logout()
    log = dc.log_since(mark)
    assert "stepup.conf:3: unknown setting colour" in log, log
    assert "stepup.conf:4: bad address or CIDR '10.0.0.0/33'" in log, log
    assert "keeping the last good policy of %s" % dc.policy_path in log
    # a new mail process never had a good policy: every folder refused
    conn = imap(dc, "bob")
    typ, data = conn.select("INBOX")
    assert typ == "NO" and b"access policy unavailable" in data[0]
    conn.logout()

    install(dc, GOOD)
    assert can_login(dc, "alice")
    assert imap(dc, "bob").select("Notes")[0] == "OK"


def test_no_good_policy_at_start_refuses_logins(dovecot_factory):
    dc = dovecot_factory(name="nopolicy", users={"carol": "carolpw"},
                         policy=BAD)
    assert not can_login(dc, "carol")
    r = dc.auth_test("carol", "carolpw")
    assert r.returncode != 0
    log = dc.log()
    assert "logins will be refused until the policy is fixed" in log
    assert "stepup.conf:3: unknown setting colour" in log
