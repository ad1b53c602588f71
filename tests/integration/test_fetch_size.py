"""A size-only FETCH is not a read: RFC822.SIZE of maildir files without
,S= / ,W= in their names makes Dovecot open the message to count its
size, which must not count against a folder's fetch_limit. Bodies still
count."""

import imaplib
import os

import pytest

POLICY = """\
version = 1;
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
login = ( { name = "default"; require = "password"; } );
folders = (
  { name = "sizes"; mailbox = "Sizes"; require = "none";
    fetch_limit = { messages = 2; window = "1h"; }; },
  { name = "rest"; mailbox = "*"; require = "none"; } );
"""
MESSAGES = 5
MAIL_UID = 65534


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    inst = dovecot_factory(name="fetchsize", policy=POLICY,
                           users={"alice": "alicepw"})
    home = os.path.join(inst.t, "mail", "alice")
    box = os.path.join(home, "Maildir", ".Sizes")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(box, sub))
    # names as after a migration: no size in them
    for i in range(MESSAGES):
        with open(os.path.join(box, "cur", "%d.M%dP1.test:2,S" %
                               (1700000000 + i, i)), "w") as f:
            f.write("Subject: m%d\r\n\r\nbody of message %d\r\n" % (i, i))
    for root, dirs, files in os.walk(home):
        for name in dirs + files + [""]:
            os.chown(os.path.join(root, name), MAIL_UID, MAIL_UID)
    return inst


def test_size_only_fetch_is_not_a_read(dc):
    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port, timeout=10)
    imap.login("alice", "alicepw")
    assert imap.select("Sizes")[0] == "OK"
    typ, data = imap.fetch("1:%d" % MESSAGES, "(RFC822.SIZE)")
    assert typ == "OK", data
    assert len([x for x in data if b"RFC822.SIZE" in x]) == MESSAGES
    # the bodies count: two, then the limit
    typ, data = imap.fetch("1:2", "(BODY.PEEK[])")
    assert typ == "OK" and b"body of message 1" in data[2][1]
    typ, data = imap.fetch("3", "(BODY.PEEK[])")
    assert typ == "NO" and b"[LIMIT]" in data[0]
    imap.logout()
