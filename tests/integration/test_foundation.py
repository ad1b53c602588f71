"""Foundation: the modules load into a real Dovecot and sit where they must.

- the stepup passdb is in the chain in front of passwd-file and never
  vouches for a password itself (right password passes, wrong fails);
- the mail plugin sees every mailbox open (event in the log);
- the IMAP plugin loads into imap processes.
"""

import imaplib
import poplib
import re

import pytest

from dovecot_harness import by_version


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    return dovecot_factory(name="foundation")


# a passdb's log line: "passdb NAME(user,ip,...): " in 2.3, "auth(user,ip,
# ...)<session>: Info: NAME: " in 2.4
PASSDB_LOG = by_version(r"%(db)s\(%(user)s,127\.0\.0\.1.*\): ",
                        r"auth\(%(user)s,127\.0\.0\.1.*\): \w+: %(db)s: ")


def test_auth_chain_right_password(dc):
    mark = dc.log_mark()
    r = dc.auth_test("alice", "alicepw")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "auth succeeded" in r.stdout
    log = dc.log_since(mark)
    # the stepup passdb ran first, handed over to passwd-file, and its
    # second stage ran after the password was verified
    assert re.search(PASSDB_LOG % {"db": "stepup", "user": "alice"} +
                     r"stepup: login pending \(stage=1", log), log
    assert re.search(PASSDB_LOG % {"db": "passwd-file", "user": "alice"},
                     log), log
    assert re.search(PASSDB_LOG % {"db": "stepup(_verify)?", "user": "alice"} +
                     r"stepup: login allow \(stage=2", log), log


def test_auth_chain_wrong_password(dc):
    """A passdb that returned OK instead of NEXT would let this through."""
    mark = dc.log_mark()
    r = dc.auth_test("alice", "wrong-password")
    assert r.returncode != 0
    assert "auth failed" in r.stdout
    log = dc.log_since(mark)
    assert "stepup: login pending (stage=1" in log
    # the verify stage (skip = never) only records the refusal
    stage2 = [x for x in log.splitlines() if "stage=2" in x]
    assert stage2 and all("login deny (stage=2, " in x and
                          x.endswith("wrong password (or unknown user)")
                          for x in stage2), stage2
    assert re.search(PASSDB_LOG % {"db": "passwd-file", "user": "alice"} +
                     r".*[Pp]assword mismatch", log), log


def test_auth_chain_unknown_user(dc):
    r = dc.auth_test("mallory", "alicepw")
    assert r.returncode != 0
    assert "auth failed" in r.stdout


def test_imap_login_and_select_logs_open_event(dc):
    mark = dc.log_mark()
    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port)
    try:
        imap.login("bob", "bobpw")
        typ, _ = imap.select("INBOX")
        assert typ == "OK"
    finally:
        imap.logout()
    log = dc.log_since(mark)
    assert re.search(r"imap\(bob\).*Mailbox INBOX: stepup: open allow "
                     r"\(flags=0x", log), log


def test_imap_wrong_password_refused(dc):
    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            imap.login("bob", "alicepw")
    finally:
        imap.shutdown()


def test_imap_plugin_loaded(dc):
    mark = dc.log_mark()
    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port)
    imap.login("alice", "alicepw")
    imap.logout()
    log = dc.log_since(mark)
    assert re.search(r"imap\(alice\).*Module loaded: .*"
                     r"lib95_imap_stepup_plugin\.so", log), log
    assert re.search(r"imap\(alice\).*imap_stepup: client created", log), log


def test_pop3_login_opens_inbox_through_plugin(dc):
    mark = dc.log_mark()
    pop = poplib.POP3("127.0.0.1", dc.pop3_port)
    pop.user("alice")
    pop.pass_("alicepw")
    pop.stat()
    pop.quit()
    log = dc.log_since(mark)
    assert re.search(r"pop3\(alice\).*stepup: open allow \(flags=0x",
                     log), log
