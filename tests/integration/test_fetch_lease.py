"""fetch_limit leases: the stepup-audit service counts a session's reads
ahead (1, 2, 4, 8 ... at most a quarter of what is left of the limit), so
that a session does not ask it for every message; the reads a session was
counted for and did not make are given back when it logs out, and stay
counted when its process is killed (the count is never below the reads
made). Every read up to the limit is given, none past it."""

import imaplib
import os
import signal
import time

import pytest

from dovecot_harness import Dovecot

LIMIT = 40
MESSAGES = 45
POLICY = """\
version = 1;
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
login = ( { name = "default"; require = "password"; } );
folders = (
  { name = "leased"; mailbox = "Leased"; require = "none";
    fetch_limit = { messages = %d; window = "1h"; }; },
  { name = "rest"; mailbox = "*"; require = "none"; } );
""" % LIMIT
USERS = {"alice": "alicepw", "bob": "bobpw", "carol": "carolpw"}
MAIL_UID = 65534


def make_mail(inst):
    for user in USERS:
        home = os.path.join(inst.t, "mail", user)
        box = os.path.join(home, "Maildir", ".Leased")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(box, sub))
        for i in range(MESSAGES):
            with open(os.path.join(box, "cur", "%d.M%dP1.test:2,S" %
                                   (1700000000 + i, i)), "w") as f:
                f.write("Subject: m%d\r\n\r\nbody of message %d\r\n" %
                        (i, i))
        for root, dirs, files in os.walk(home):
            for name in dirs + files + [""]:
                os.chown(os.path.join(root, name), MAIL_UID, MAIL_UID)


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    inst = dovecot_factory(name="fetchlease", policy=POLICY, users=USERS)
    make_mail(inst)
    return inst


@pytest.fixture
def killable():
    """A Dovecot whose imap process the test kills: the master's report
    of that one kill is expected, any other report fails the test."""
    inst = Dovecot(name="fetchkill", policy=POLICY, users=USERS).start()
    make_mail(inst)
    inst.killed = []
    yield inst
    inst.stop()
    reports = [r for r in inst.sanitizer_reports()
               if not any("%d killed with signal 9" % pid in r
                          for pid in inst.killed)]
    inst.cleanup()
    assert not reports, reports


def imap_pids(dc):
    """The imap processes of this Dovecot (its master's children: other
    Dovecots run on the machine too)."""
    pids = set()
    for pid in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if comm == "imap" and ppid == dc.proc.pid:
            pids.add(int(pid))
    return pids


def session(dc, user):
    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port, timeout=10)
    imap.login(user, USERS[user])
    assert imap.select("Leased")[0] == "OK"
    return imap


def read(imap, first, count):
    """Bodies first..first+count-1 one FETCH each: how many were given
    before the first [LIMIT] refusal."""
    for n in range(count):
        typ, data = imap.fetch(str(first + n), "(BODY.PEEK[])")
        if typ != "OK":
            assert b"[LIMIT]" in data[0], data
            return n
        assert b"body of message %d" % (first + n - 1) in data[0][1]
    return count


def test_reads_given_back_at_logout(dc):
    imap = session(dc, "alice")
    assert read(imap, 1, 10) == 10
    imap.logout()
    # the next session reads exactly what is left of the limit
    imap = session(dc, "alice")
    assert read(imap, 11, MESSAGES - 10) == LIMIT - 10
    # and a message read before in this session is not a new read
    assert imap.fetch("11", "(BODY.PEEK[])")[0] == "OK"
    imap.logout()


def test_one_fetch_of_many_stops_at_the_limit(dc):
    imap = session(dc, "carol")
    typ, data = imap.fetch("1:%d" % MESSAGES, "(BODY.PEEK[])")
    assert typ == "NO" and b"[LIMIT]" in data[-1], data
    # the bodies given before the refusal
    _, fetched = imap.response("FETCH")
    bodies = [x for x in fetched if isinstance(x, tuple)]
    assert len(bodies) == LIMIT, fetched
    imap.logout()


def test_killed_session_keeps_unused_reads_counted(killable):
    dc = killable
    before = imap_pids(dc)
    imap = session(dc, "bob")
    [pid] = imap_pids(dc) - before
    dc.killed.append(pid)
    # 10 reads: counted as leases of 1, 2, 4 and 8 (15 reads)
    assert read(imap, 1, 10) == 10
    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 10
    while time.time() < deadline and pid in imap_pids(dc):
        time.sleep(0.05)
    imap.shutdown()
    # the 5 reads counted ahead and not made stay counted: fail closed
    imap = session(dc, "bob")
    assert read(imap, 11, MESSAGES - 10) == LIMIT - 15
    imap.logout()
