#!/usr/bin/env python3
"""The demo: a sandbox Dovecot on loopback with the stepup modules and the
sample policy. `demo.py start` starts it and walks through what it shows;
`demo.py stop` stops it and removes the sandbox."""

import imaplib
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from dovecot_harness import Dovecot  # noqa: E402

ROOT = os.path.join(TOP, "_demo")
IMAP_PORT, POP3_PORT = 10143, 10110
USERS = {"demo": "demopw", "alice@example.org": "alicepw"}


def sample_policy():
    with open(os.path.join(TOP, "doc", "examples", "stepup.conf")) as f:
        text = f.read()
    text = text.replace("/var/lib/dovecot/stepup", "{t}/state")
    return text.replace("/var/log/dovecot/stepup-audit.jsonl",
                        "{t}/log/audit.jsonl")


def step(title):
    print("\n=== " + title)


def start():
    stop(quiet=True)
    dc = Dovecot(name="stepup-demo", users=USERS, policy=sample_policy(),
                 root=ROOT, imap_port=IMAP_PORT, pop3_port=POP3_PORT,
                 detach=True)
    dc.start()
    step("A sandbox Dovecot runs on 127.0.0.1 with the stepup modules")
    print("config:  %s\nlog:     %s\npolicy:  %s" %
          (dc.conf, dc.log_path, dc.policy_path))

    step("doveadm auth test: the stepup passdb sits in front of passwd-file")
    mark = dc.log_mark()
    r = dc.auth_test("demo", "demopw")
    print("$ doveadm auth test demo demopw  ->",
          r.stdout.strip().splitlines()[0] if r.stdout else r.stderr)
    r = dc.auth_test("demo", "wrong")
    print("$ doveadm auth test demo wrong   ->",
          r.stdout.strip().splitlines()[0] if r.stdout else r.stderr)
    for line in dc.log_since(mark).splitlines():
        if "stepup" in line and "Info" in line:
            print("  log: " + line.split(": ", 1)[1])

    step("IMAP: every mailbox open is seen by the mail plugin")
    mark = dc.log_mark()
    imap = imaplib.IMAP4("127.0.0.1", IMAP_PORT)
    imap.login("demo", "demopw")
    imap.select("INBOX")
    imap.logout()
    for line in dc.log_since(mark).splitlines():
        if re.search(r"stepup: open", line):
            print("  log: " + line.split(": ", 1)[1])

    step("Try it yourself")
    print("Connect any IMAP client to 127.0.0.1 port %d (no TLS), POP3 on "
          "port %d.\nUsers: %s" % (IMAP_PORT, POP3_PORT, ", ".join(
              "%s / %s" % kv for kv in USERS.items())))
    print("Watch the log:  tail -f %s" % dc.log_path)
    print("Stop the demo:  bash scripts/demo.sh stop")


def stop(quiet=False):
    conf = os.path.join(ROOT, "etc", "dovecot.conf")
    if os.path.exists(conf):
        os.system("doveadm -c %s stop >/dev/null 2>&1" % conf)
        pidfile = os.path.join(ROOT, "run", "master.pid")
        for _ in range(100):
            if not os.path.exists(pidfile):
                break
            import time
            time.sleep(0.1)
    if os.path.isdir(ROOT):
        import shutil
        shutil.rmtree(ROOT, ignore_errors=True)
        if not quiet:
            print("demo stopped")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "start"
    if cmd == "start":
        start()
    elif cmd == "stop":
        stop()
    else:
        sys.exit("usage: demo.py start|stop")
