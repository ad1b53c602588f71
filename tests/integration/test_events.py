"""The events of doc/events.md through Dovecot's own statistics: the
metric example of the document, loaded into a real Dovecot, counts the
refused login and the refused folder read back with doveadm stats dump."""

import imaplib
import os
import re
import time

import pytest

from dovecot_harness import by_version

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "doc", "events.md")

POLICY = """\
version = 1;
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
login = (
  { name = "barred"; users = [ "mallory" ]; require = "deny"; },
  { name = "pw"; require = "password"; }
);
folders = (
  { name = "hidden"; mailbox = "Hidden"; require = "deny"; },
  { name = "rest"; mailbox = "*"; require = "none"; }
);
"""


def metric_example():
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    # 2.4 writes group_by as a block: a second example
    marker = by_version("metric example", "metric example 2.4")
    m = re.search(r"<!-- %s begin -->\n```\n(.*?)```\n" % marker, text,
                  re.S)
    assert m, "doc/events.md has no %s" % marker
    return m.group(1)


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    dc = dovecot_factory(name="events",
                         users={"alice": "alicepw", "mallory": "mallorypw"},
                         policy=POLICY, extra=metric_example())
    r = dc.doveadm("mailbox", "create", "-u", "alice", "Hidden")
    assert r.returncode == 0, r.stderr
    return dc


def stats(dc):
    """metric name -> count"""
    r = dc.doveadm("-f", "tab", "stats", "dump")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    head = lines[0].split("\t")
    counts = {}
    for line in lines[1:]:
        row = dict(zip(head, line.split("\t")))
        counts[row["metric_name"]] = int(row["count"])
    return counts


def wait_stats(dc, want):
    """the counts once every metric of want has reached its value (the
    processes send their events to the stats process asynchronously)"""
    deadline = time.time() + 10
    while True:
        counts = stats(dc)
        if all(counts.get(k, 0) >= v for k, v in want.items()) or \
                time.time() > deadline:
            return counts
        time.sleep(0.1)


def test_metric_example_counts_refusals(dc):
    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port, timeout=10)
    with pytest.raises(imaplib.IMAP4.error):
        imap.login("mallory", "mallorypw")
    imap.logout()

    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port, timeout=10)
    imap.login("alice", "alicepw")
    typ, _ = imap.select("Hidden")
    assert typ == "NO"
    typ, _ = imap.select("INBOX")
    assert typ == "OK"
    imap.logout()

    counts = wait_stats(dc, {"stepup_login_denied": 1,
                             "stepup_folder_denied_hidden": 1})
    assert counts.get("stepup_login_denied") == 1, counts
    assert counts.get("stepup_folder_denied") == 1, counts
    assert counts.get("stepup_folder_denied_hidden") == 1, counts
    # allowed logins and opens are not counted by these metrics
    assert "stepup_folder_denied_rest" not in counts, counts
