#!/usr/bin/env python3
"""The demo: a sandbox Dovecot on loopback with the stepup modules and the
sample policy. `demo.py start` starts it and walks through what it shows;
`demo.py stop` stops it and removes the sandbox (its logs included).

The sandbox lives outside the checkout (/run/stepup-demo, or
$STEPUP_DEMO_DIR), where Dovecot's unprivileged users can reach it
whatever the checkout's location (root's home is 0700 on Debian). A demo
left running (killed midway, or from an older checkout) is stopped first;
a failure stops the sandbox's Dovecot and says why, without a traceback."""

import datetime
import imaplib
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pyotp

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from dovecot_harness import Dovecot, built  # noqa: E402

ROOT = os.environ.get("STEPUP_DEMO_DIR", "/run/stepup-demo")
# where older versions kept the sandbox
OLD_ROOT = os.path.join(TOP, "_demo")
IMAP_PORT = int(os.environ.get("STEPUP_DEMO_IMAP_PORT", "10143"))
POP3_PORT = int(os.environ.get("STEPUP_DEMO_POP3_PORT", "10110"))
USERS = {"demo": "demopw", "alice@example.org": "alicepw"}


def sample_policy():
    with open(os.path.join(TOP, "doc", "examples", "stepup.conf")) as f:
        text = f.read()
    text = text.replace("/var/lib/dovecot/stepup", "{t}/state")
    text = text.replace("/etc/dovecot/stepup-session.key",
                        "{t}/etc/session.key")
    # the grace period always ends two months from today
    enroll_by = (datetime.date.today() + datetime.timedelta(days=60))
    text = text.replace('enroll_by = "2027-01-31"',
                        'enroll_by = "%s"' % enroll_by.isoformat())
    return text.replace("/var/log/dovecot/stepup-audit.jsonl",
                        "{t}/log/audit.jsonl")


def step(title):
    print("\n=== " + title)


def show(cmd, result):
    print("$ " + cmd)
    for line in (result.stdout + result.stderr).strip().splitlines():
        print("  " + line)


def imap_try(user, password):
    imap = imaplib.IMAP4("127.0.0.1", IMAP_PORT)
    try:
        imap.login(user, password)
        imap.select("INBOX")
        imap.logout()
        return "OK, logged in"
    except imaplib.IMAP4.error as e:
        imap.shutdown()
        return "refused: " + e.args[0].decode() \
            if isinstance(e.args[0], bytes) else "refused: %s" % e


def imap_open(user, password, mailbox):
    """Log in and SELECT a folder; what the client is told."""
    imap = imaplib.IMAP4("127.0.0.1", IMAP_PORT)
    try:
        imap.login(user, password)
    except imaplib.IMAP4.error as e:
        imap.shutdown()
        return "login refused: %s" % e
    typ, data = imap.select(mailbox)
    imap.logout()
    if typ == "OK":
        return "OK, %s opened (%s message(s))" % (mailbox, data[0].decode())
    # without Dovecot's "(0.001 + 0.000 secs)"
    return "NO " + re.sub(r" \([0-9.+ ]+ secs\)", "", data[0].decode())


def folder_step_up(dc, stepup, totp):
    step("Folder step-up: the Direction folder needs a two-step login of "
         "at most 15 minutes (folder rule 'direction')")
    dc.doveadm("mailbox", "create", "-u", "demo", "Direction", check=True)
    subprocess.run(["doveadm", "-c", dc.conf, "save", "-u", "demo", "-m",
                    "Direction"], check=True, text=True, env=dc.client_env(),
                   capture_output=True,
                   input="From: minister@example.org\r\nSubject: "
                   "budget\r\n\r\nThe draft budget.\r\n")
    app = run_json(stepup + ["app-password", "add", "demo", "--label",
                             "phone", "--json"], env=dc.client_env())[
                                 "password"]
    print("stepup app-password add demo --label phone: a phone's mail app "
          "logs in with a password of its own, without a code")
    print("app password, SELECT INBOX -> " + imap_open("demo", app, "INBOX"))
    print("app password, SELECT Direction -> " +
          imap_open("demo", app, "Direction"))
    code = totp.at(time.time() + totp.interval)
    print("password + code %s, SELECT Direction -> %s" %
          (code, imap_open("demo", "demopw" + code, "Direction")))


class DemoError(Exception):
    pass


def unreachable_dir(path):
    """The first directory above path that others cannot enter, or None:
    Dovecot's own users (dovecot, the mail users) must reach the sandbox."""
    path = os.path.abspath(path)
    while True:
        parent = os.path.dirname(path)
        if parent == path:
            return None
        if os.path.exists(parent) and not os.stat(parent).st_mode & 0o001:
            return parent
        path = parent


def port_in_use(port):
    return Dovecot._listening(port)


def start():
    stop(quiet=True)
    busy = [p for p in (IMAP_PORT, POP3_PORT) if port_in_use(p)]
    if busy:
        raise DemoError(
            "port %s on 127.0.0.1 is in use by another program (not a demo "
            "this checkout knows of); see `ss -ltnp 'sport = :%d'` and stop "
            "it, then run the demo again" % (
                " and ".join(map(str, busy)), busy[0]))
    blocked = unreachable_dir(ROOT)
    if blocked:
        raise DemoError(
            "the sandbox %s is inside %s, which Dovecot's users cannot "
            "enter (mode %o): set STEPUP_DEMO_DIR to a directory they can "
            "reach (e.g. under /run or /tmp)" % (
                ROOT, blocked, os.stat(blocked).st_mode & 0o777))
    dc = Dovecot(name="stepup-demo", users=USERS, policy=sample_policy(),
                 root=ROOT, imap_port=IMAP_PORT, pop3_port=POP3_PORT,
                 detach=True)
    try:
        walk_through(dc)
    except BaseException:
        # never leave a half-started demo behind
        log = dc.log_tail(20) if dc.t else ""
        dc.stop()
        if log:
            print("\nlast lines of the sandbox's Dovecot log:\n" + log,
                  file=sys.stderr)
        raise


def run_json(cmd, **kwargs):
    r = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    try:
        return json.loads(r.stdout)
    except ValueError:
        raise DemoError("%s failed (exit %d): %s" % (
            " ".join(cmd[2:]), r.returncode,
            (r.stderr or r.stdout).strip()))


def walk_through(dc):
    dc.start()
    stepup = [built("stepup"), "--policy", dc.policy_path]
    step("A sandbox Dovecot runs on 127.0.0.1 with the stepup modules")
    print("config:  %s\nlog:     %s\npolicy:  %s (doc/examples/stepup.conf)"
          % (dc.conf, dc.log_path, dc.policy_path))
    show("stepup policy check", subprocess.run(
        stepup + ["policy", "check"], capture_output=True, text=True))

    step("Login: the policy's default rule wants a code; demo has not "
         "enrolled yet (grace until enroll_by)")
    show("stepup policy explain --user demo --ip 127.0.0.1 --protocol imap",
         subprocess.run(stepup + ["policy", "explain", "--user", "demo",
                                  "--ip", "127.0.0.1", "--protocol", "imap"],
                        capture_output=True, text=True))
    print("IMAP login demo/demopw -> " + imap_try("demo", "demopw"))

    step("Enrollment: stepup enroll demo (the QR code goes to the "
         "authenticator app)")
    proc = subprocess.Popen(stepup + ["enroll", "demo", "--json"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=dc.client_env())
    line = proc.stdout.readline()
    try:
        first = json.loads(line)
    except ValueError:
        proc.kill()
        _, err = proc.communicate(timeout=60)
        raise DemoError("stepup enroll demo failed: %s" % (
            err.strip() or line.strip() or "no output"))
    print(first["qr"])
    print("URI (holds the secret, shown only here): " + first["uri"])
    secret = pyotp.parse_uri(first["uri"]).secret
    totp = pyotp.TOTP(secret)
    confirm = totp.at(time.time() - 30)
    print("the app shows a code; typing it confirms the enrollment: %s"
          % confirm)
    out, err = proc.communicate(confirm + "\n", timeout=60)
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise DemoError("stepup enroll demo failed: %s" % err.strip())
    print("enrolled: %s; recovery codes (shown once): %s ..." %
          (result["enrolled"], ", ".join(result["recovery_codes"][:3])))

    step("Login with the password alone is now refused")
    print("IMAP login demo/demopw -> " + imap_try("demo", "demopw"))
    code = totp.now()
    print("IMAP login demo/demopw%s (password + code) -> %s" %
          (code, imap_try("demo", "demopw" + code)))
    print("the same string again (a replay) -> " +
          imap_try("demo", "demopw" + code))
    print("a wrong password with the next code -> " +
          imap_try("demo", "wrongpw" + totp.at(time.time() + 30)))

    folder_step_up(dc, stepup, totp)

    step("Every decision is in the Dovecot log and the audit log")
    for line in dc.log().splitlines():
        if ("stepup: login" in line and "stage=2" in line) or \
                ("stepup: open" in line and ": Info: " in line):
            print("  log: " + line.split(": ", 1)[1])
    audit = os.path.join(ROOT, "log", "audit.jsonl")
    with open(audit) as f:
        records = [json.loads(x) for x in f]
    for r in records[-5:]:
        print("  audit: %s %s %s%s %s (%s)" % (
            r["ts"], r["event"], r["user"],
            " " + r["mailbox"] if r["mailbox"] else "", r["decision"],
            r["reason"]))
    show("stepup audit verify " + audit, subprocess.run(
        stepup + ["audit", "verify", audit], capture_output=True, text=True))
    show("stepup audit report --mailbox Direction   (who opened it, how)",
         subprocess.run(stepup + ["audit", "report", "--mailbox",
                                  "Direction"], capture_output=True,
                        text=True))

    step("Try it yourself")
    print("Connect any IMAP client to 127.0.0.1 port %d (no TLS), POP3 on "
          "port %d." % (IMAP_PORT, POP3_PORT))
    print("  demo / demopw: enrolled; append the code from an app set up "
          "with the URI above")
    print("  alice@example.org / alicepw: in the 'cabinet' group, whose rule "
          "needs a code and has no grace:\n    enroll her first: %s "
          "--policy %s enroll alice@example.org" % (
              built("stepup"), dc.policy_path))
    print("Watch the log:  tail -f %s" % dc.log_path)
    print("Stop the demo:  bash scripts/demo.sh stop   (removes %s, logs "
          "included)" % ROOT)


def stop_sandbox(root):
    """Stop the Dovecot of a sandbox (bounded wait); whether one ran."""
    conf = os.path.join(root, "etc", "dovecot.conf")
    pidfile = os.path.join(root, "run", "master.pid")
    if not os.path.exists(conf):
        return False
    subprocess.run(["doveadm", "-c", conf, "stop"], capture_output=True,
                   timeout=60)
    for _ in range(100):
        if not os.path.exists(pidfile):
            break
        time.sleep(0.1)
    if os.path.exists(pidfile):
        # doveadm could not reach it: the master's pid file says who
        with open(pidfile) as f:
            pid = f.read().strip()
        if pid.isdigit():
            subprocess.run(["kill", pid], capture_output=True)
            for _ in range(50):
                if not os.path.exists("/proc/" + pid):
                    break
                time.sleep(0.1)
    return True


def stop(quiet=False):
    stopped = False
    for root in (ROOT, OLD_ROOT):
        if stop_sandbox(root):
            stopped = True
        if os.path.isdir(root):
            shutil.rmtree(root, ignore_errors=True)
            if not quiet:
                print("removed the sandbox %s (its logs included)" % root)
    if not quiet:
        print("demo stopped" if stopped else "no demo was running")


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else "start"
    try:
        if cmd == "start":
            start()
        elif cmd == "stop":
            stop()
        else:
            sys.exit("usage: demo.py start|stop")
    except DemoError as e:
        sys.exit("demo: %s" % e)
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        sys.exit("demo: failed: %s" % e)


if __name__ == "__main__":
    main()
