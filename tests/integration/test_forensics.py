"""Forensics against a real Dovecot: which messages a session read (FETCH
BODY[]/BINARY, POP3 RETR, COPY), who read what (stepup audit report
--reads), bounded records for a bulk download, and what looks like an
intrusion (stepup audit anomalies)."""

import imaplib
import json
import os
import poplib
import socket
import subprocess
import time

import pytest

from dovecot_harness import MAIL_GID, MAIL_UID, built

POLICY = """\
version = 1;
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; reads = "all";
          anomalies = { bulk_messages = 5; }; };
login = ( { name = "pw"; require = "password"; } );
folders = (
  { name = "vault"; mailbox = "Vault"; require = "totp"; },
  { name = "rest"; mailbox = "*"; require = "none"; }
);
"""

USERS = {"victim": "victimpw", "hoarder": "hoarderpw"}


def message(mid, n):
    return ("From: a@example.org\nTo: b@example.org\n"
            "Message-ID: <%s@example.org>\nSubject: m%d\n"
            "MIME-Version: 1.0\nContent-Type: text/plain\n\n"
            "body of %s\n" % (mid, n, mid))


def fill(dc, user, box, prefix, n):
    """n messages straight into the Maildir (doveadm save would take a
    process each), named as Dovecot's own delivery names them (,S= the
    size, ,W= the size with CRLFs); UIDs 1..n in name order"""
    home = os.path.join(dc.t, "mail", user, "Maildir")
    folder = home if box == "INBOX" else os.path.join(home, "." + box)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    for i in range(1, n + 1):
        text = message("%s-%d" % (prefix, i), i)
        path = os.path.join(folder, "cur", "1700000000.M%06dP1.test,S=%d,"
                            "W=%d:2," % (i, len(text),
                                         len(text) + text.count("\n")))
        with open(path, "w") as f:
            f.write(text)
    for root, dirs, files in os.walk(os.path.join(dc.t, "mail", user)):
        for name in dirs + files:
            os.chown(os.path.join(root, name), MAIL_UID, MAIL_GID)
    os.chown(os.path.join(dc.t, "mail", user), MAIL_UID, MAIL_GID)


class FromSource:
    """A client from a given local address (127.0.0.2)."""

    def __init__(self, port, source):
        self.source = source
        super().__init__("127.0.0.1", port, timeout=30)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.source, 0))


class SourceIMAP(FromSource, imaplib.IMAP4):
    pass


class SourcePOP3(FromSource, poplib.POP3):
    pass


def stepup(dc, *args):
    return subprocess.run([built("stepup"), "--policy", dc.policy_path] +
                          list(args), capture_output=True, text=True,
                          timeout=120, env=dc.client_env())


def records(dc):
    with open(dc.fmt("{t}/log/audit.jsonl")) as f:
        return [json.loads(x) for x in f]


def settle(dc, pred, timeout=30):
    """wait (bounded) until the audit log satisfies pred"""
    deadline = time.monotonic() + timeout
    while True:
        recs = records(dc)
        if pred(recs) or time.monotonic() > deadline:
            return recs
        time.sleep(0.2)


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    dc = dovecot_factory(name="forensics", users=USERS, policy=POLICY)
    fill(dc, "victim", "Archive", "arch", 30)
    fill(dc, "victim", "Projects", "proj", 30)
    fill(dc, "victim", "INBOX", "inbox", 10)
    fill(dc, "hoarder", "Big", "big", 5000)
    return dc


def test_intrusion_report_lists_exactly_what_was_read(dc):
    # the owner's usual address, days of habit in a real log
    assert dc.auth_login("victim", "victimpw", rip="127.0.0.1").returncode == 0
    # the thief: password only, from 127.0.0.2; POP3 first (RETR 1 and 2
    # are then the INBOX's own first messages)
    pop = SourcePOP3(dc.pop3_port, "127.0.0.2")
    pop.user("victim")
    pop.pass_("victimpw")
    pop.retr(1)
    pop.retr(2)
    pop.quit()
    imap = SourceIMAP(dc.imap_port, "127.0.0.2")
    imap.login("victim", "victimpw")
    assert imap.select("Archive")[0] == "OK"
    # header-only and flags of everything: not reads
    assert imap.fetch("1:30", "(BODY.PEEK[HEADER] FLAGS)")[0] == "OK"
    assert imap.uid("FETCH", "3,7", "(BODY[])")[0] == "OK"
    assert imap.uid("FETCH", "9", "(BODY.PEEK[1])")[0] == "OK"
    # the same message again: once per session
    assert imap.uid("FETCH", "3", "(BODY.PEEK[])")[0] == "OK"
    assert imap.select("Projects")[0] == "OK"
    assert imap.fetch("1:30", "(FLAGS)")[0] == "OK"
    assert imap.uid("FETCH", "2,4", "(BINARY.PEEK[])")[0] == "OK"
    assert imap.uid("COPY", "10,11", "INBOX")[0] == "OK"
    imap.logout()
    want = {"arch-3", "arch-7", "arch-9", "proj-2", "proj-4", "proj-10",
            "proj-11", "inbox-1", "inbox-2"}
    settle(dc, lambda recs: len([r for r in recs if r["event"] == "read"
                                 and r["user"] == "victim"]) >= 9)

    r = stepup(dc, "audit", "report", "--reads", "--user", "victim",
               "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["intact"] is True
    folders = {f["mailbox"] for s in out["sessions"] for f in s["folders"]}
    assert folders == {"Archive", "Projects", "INBOX"}
    mids = [m["message_id"] for s in out["sessions"] for m in s["messages"]]
    assert sorted(mids) == sorted("<%s@example.org>" % x for x in want)
    assert out["message_count"] == 9
    for s in out["sessions"]:
        assert s["ip"] == "127.0.0.2" and s["auth"] == "password", s
        assert s["service"] in ("imap", "pop3") and s["login"], s
    hows = {m["message_id"]: m["how"] for s in out["sessions"]
            for m in s["messages"]}
    assert hows["<proj-10@example.org>"] == "copy to INBOX"
    assert hows["<proj-2@example.org>"] in ("binary", "body")
    assert hows["<arch-3@example.org>"] == "body"
    # by folder; text and CSV
    r = stepup(dc, "audit", "report", "--reads", "--user", "victim",
               "--mailbox", "Projects", "--json")
    mids = {m["message_id"] for s in json.loads(r.stdout)["sessions"]
            for m in s["messages"]}
    assert mids == {"<proj-%d@example.org>" % i for i in (2, 4, 10, 11)}
    r = stepup(dc, "audit", "report", "--reads", "--user", "victim")
    assert r.returncode == 0
    assert "victim from 127.0.0.2 (imap, auth=password" in r.stdout
    assert "Archive UID 3 <arch-3@example.org>" in r.stdout
    assert r.stdout.splitlines()[-1].startswith("2 sessions, 9 messages")
    r = stepup(dc, "audit", "report", "--reads", "--user", "victim", "--csv")
    rows = r.stdout.splitlines()
    assert rows[0].startswith("session,user,ip,")
    assert len(rows) == 10
    assert not stepup(dc, "audit", "report", "--reads", "--user",
                      "nobody", "--json").returncode
    # the anomalies: a new address, a bulk read
    r = stepup(dc, "audit", "anomalies", "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    found = json.loads(r.stdout)["findings"]
    kinds = {(f["kind"], f["user"]) for f in found}
    assert ("new_address", "victim") in kinds, found
    assert ("bulk_read", "victim") in kinds, found
    [new] = [f for f in found if f["kind"] == "new_address"
             and f["user"] == "victim"]
    assert new["ip"] == "127.0.0.2" and "audit.jsonl line " in new["records"][0]


def test_bulk_download_is_bounded_and_exact(dc):
    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port, timeout=120)
    imap.login("hoarder", "hoarderpw")
    typ, data = imap.select("Big")
    assert typ == "OK" and data[0] == b"5000"
    for start in range(1, 5001, 1000):
        typ, _ = imap.uid("FETCH", "%d:%d" % (start, start + 999),
                          "(BODY.PEEK[])")
        assert typ == "OK"
    imap.logout()
    # the aggregates are written when the session ends
    recs = settle(dc, lambda recs: sum(
        r.get("count", 1) for r in recs if r["event"] == "read" and
        r["user"] == "hoarder") >= 5000)
    reads = [r for r in recs if r["event"] == "read" and
             r["user"] == "hoarder"]
    single = [r for r in reads if "uid" in r]
    agg = [r for r in reads if "count" in r]
    assert len(single) == 1000     # audit.reads_per_session (default)
    assert 1 <= len(agg) <= 20, len(agg)
    uids = set()
    for r in agg:
        for part in r["uids"].split(","):
            lo, _, hi = part.partition(":")
            uids.update(range(int(lo), int(hi or lo) + 1))
    assert uids | {r["uid"] for r in single} == set(range(1, 5001))
    assert not uids & {r["uid"] for r in single}
    assert sum(r["count"] for r in agg) == 4000
    r = stepup(dc, "audit", "report", "--reads", "--user", "hoarder",
               "--json")
    assert json.loads(r.stdout)["message_count"] == 5000


def test_normal_day_has_no_finding(dovecot_factory):
    """20 users read a few messages each, from their usual address, one of
    them with two clients at once: nothing to flag"""
    users = {"u%02d" % i: "pw%02d" % i for i in range(20)}
    day = dovecot_factory(name="normalday", users=users, policy=POLICY)
    for user in users:
        fill(day, user, "INBOX", user, 5)
    for user, pw in users.items():
        assert day.auth_login(user, pw).returncode == 0
    for n, (user, pw) in enumerate(users.items()):
        a = imaplib.IMAP4("127.0.0.1", day.imap_port, timeout=30)
        a.login(user, pw)
        a.select("INBOX")
        a.fetch("1:5", "(FLAGS BODY.PEEK[HEADER])")
        a.fetch("%d" % (n % 5 + 1), "(BODY[])")
        if n == 0:
            b = imaplib.IMAP4("127.0.0.1", day.imap_port, timeout=30)
            b.login(user, pw)
            b.select("INBOX")
            b.fetch("2", "(BODY.PEEK[])")
            b.logout()
        a.fetch("1:3", "(BODY.PEEK[TEXT])")
        a.logout()
    settle(day, lambda recs: len({r["user"] for r in recs
                                  if r["event"] == "read"}) == 20)
    r = stepup(day, "audit", "anomalies")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == "0 findings"
    r = stepup(day, "audit", "anomalies", "--json")
    assert json.loads(r.stdout)["findings"] == []
