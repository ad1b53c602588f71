"""Mechanisms that cannot carry a code (CRAM-MD5 here) fail closed while
the stepup passdbs are in the chain, even for users whose rule asks only
for the password; PLAIN keeps working."""

import imaplib
import json
import socket

import pytest

POLICY = """\
version = 1;
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
login = (
  { name = "office"; networks = [ "127.0.0.2/32" ]; require = "password"; },
  { name = "default"; require = "totp"; enroll_by = "2099-12-31"; }
);
folders = ( { name = "rest"; mailbox = "*"; require = "none"; } );
"""


class SourceIMAP4(imaplib.IMAP4):
    def __init__(self, port, source):
        self._source = source
        super().__init__("127.0.0.1", port, timeout=10)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._source, 0))


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    return dovecot_factory(name="mechs", users={"pat": "patpw",
                                                "gus": "guspw"},
                           policy=POLICY,
                           extra="auth_mechanisms = plain login cram-md5\n")


def login(dc, user, password, source, cram):
    imap = SourceIMAP4(dc.imap_port, source)
    try:
        assert b"CRAM-MD5" in b" ".join(
            imap.capability()[1]), "cram-md5 not offered"
        if cram:
            imap.login_cram_md5(user, password)
        else:
            imap.login(user, password)
        imap.logout()
        return True
    except imaplib.IMAP4.error:
        imap.shutdown()
        return False


@pytest.mark.parametrize("user,source", [("pat", "127.0.0.2"),
                                         ("gus", "127.0.0.1")])
def test_plain_accepted(dc, user, source):
    assert login(dc, user, user[:3] + "pw", source, cram=False)


@pytest.mark.parametrize("user,source", [("pat", "127.0.0.2"),
                                         ("gus", "127.0.0.1")])
def test_cram_md5_fails_closed(dc, user, source):
    mark = dc.log_mark()
    assert not login(dc, user, user[:3] + "pw", source, cram=True)
    log = dc.log_since(mark)
    assert ("stepup: login deny (stage=1, rule=-, auth=none): mechanism "
            "CRAM-MD5 cannot carry a one-time code") in log
    assert "Login: user=<%s>" % user not in log
    with open(dc.fmt("{t}/log/audit.jsonl")) as f:
        last = json.loads(f.read().splitlines()[-1])
    assert (last["user"], last["decision"]) == (user, "deny")
    assert "CRAM-MD5" in last["reason"]
