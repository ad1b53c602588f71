"""Rotating the audit log with logrotate (create and copytruncate) while
four sessions read: no record lost, the files verify as one chain, a
missing middle file is named."""

import imaplib
import json
import subprocess
import threading
import time

import pytest

from test_forensics import POLICY, fill, stepup

SESSIONS = 4
READS = 60

LOGROTATE = """\
{log} {{
    su root root
    rotate 10
    nocompress
    missingok
    {mode}
}}
"""


def lines_in(path):
    try:
        with open(path) as f:
            return f.read().count("\n")
    except FileNotFoundError:
        return 0


def reader(dc, user, errors):
    try:
        imap = imaplib.IMAP4("127.0.0.1", dc.imap_port, timeout=60)
        imap.login(user, user + "pw")
        assert imap.select("Box")[0] == "OK"
        for uid in range(1, READS + 1):
            assert imap.uid("FETCH", str(uid), "(BODY.PEEK[])")[0] == "OK"
        imap.logout()
    except Exception as e:  # reported by the test
        errors.append(repr(e))


@pytest.mark.parametrize("mode", ["create 0660 dovecot dovecot",
                                  "copytruncate"])
def test_rotation_loses_nothing(dovecot_factory, tmp_path, mode):
    users = {"r%d" % i: "r%dpw" % i for i in range(SESSIONS)}
    dc = dovecot_factory(name="rotation", users=users, policy=POLICY)
    for user in users:
        fill(dc, user, "Box", user, READS)
    log = dc.fmt("{t}/log/audit.jsonl")
    conf = tmp_path / "logrotate.conf"
    conf.write_text(LOGROTATE.format(log=log, mode=mode))
    errors = []
    threads = [threading.Thread(target=reader, args=(dc, u, errors))
               for u in users]
    for t in threads:
        t.start()
    for _ in range(2):
        # rotate while the sessions read
        deadline = time.monotonic() + 30
        while lines_in(log) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        r = subprocess.run(["logrotate", "-f", "-s",
                            str(tmp_path / "state"), str(conf)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    for t in threads:
        t.join(120)
    assert not errors, errors
    files = [log + ".2", log + ".1", log]

    def reads():
        """the reads as the report sees them: repeated records once"""
        out = json.loads(stepup(dc, "audit", "report", "--reads",
                                "--json", *files).stdout)
        return out, [(s["user"], m["uid"]) for s in out["sessions"]
                     for m in s["messages"]]
    deadline = time.monotonic() + 30
    while len(reads()[1]) < SESSIONS * READS and \
            time.monotonic() < deadline:
        time.sleep(0.2)
    out, got = reads()
    # nothing lost, nothing twice
    assert out["intact"], out.get("error")
    assert sorted(got) == sorted((u, i) for u in users
                                 for i in range(1, READS + 1))
    r = stepup(dc, "audit", "verify", *files)
    assert r.returncode == 0, r.stdout
    assert "chain intact from the start of the log" in r.stdout
    # a middle file deleted: named, with the line
    r = stepup(dc, "audit", "verify", files[0], files[2])
    assert r.returncode == 1
    assert "%s line 1: does not continue %s: a file between them is " \
        "missing" % (files[2], files[0]) in r.stdout, r.stdout
