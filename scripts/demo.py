#!/usr/bin/env python3
"""The demo: a sandbox Dovecot on loopback with the stepup modules and the
sample policy. `demo.py start` starts it and walks through what it shows;
`demo.py stop` stops it and removes the sandbox."""

import datetime
import imaplib
import signal
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

ROOT = os.path.join(TOP, "_demo")
IMAP_PORT, POP3_PORT = 10143, 10110
APPROVAL_PORT = 10443
APPROVAL_DIR = ROOT + "-endpoint"
# an approval folder: the demo's endpoint says "pending", then approves
APPROVAL_POLICY = """
approval = {
  url = "https://127.0.0.1:%d/v1/requests";
  key_file = "%s/approval.key";
  ca_file = "%s/ca/ca.pem";
  timeout = "5s";
  wait = "20s";
  failmode = "closed";
};
""" % (APPROVAL_PORT, APPROVAL_DIR, APPROVAL_DIR)
APPROVAL_RULE = ('  { name = "hr"; mailbox = "Confidentiel"; '
                 'require = "approval"; grant = "15m"; },\n')
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
    text = text.replace("/var/log/dovecot/stepup-audit.jsonl",
                        "{t}/log/audit.jsonl")
    text = text.replace('  { name = "rest";', APPROVAL_RULE +
                        '  { name = "rest";')
    return text + APPROVAL_POLICY


def start_endpoint():
    """The test suite's HTTPS approval endpoint (a throw-away CA), in the
    mode "pending for 3 s, then approved"; it runs until demo.py stop."""
    os.makedirs(APPROVAL_DIR, mode=0o755, exist_ok=True)
    os.chmod(APPROVAL_DIR, 0o755)
    key = os.path.join(APPROVAL_DIR, "approval.key")
    with open(key, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    os.chmod(key, 0o600)
    out = open(os.path.join(APPROVAL_DIR, "endpoint.out"), "w")
    proc = subprocess.Popen(
        [sys.executable, os.path.join(TOP, "tests", "integration",
                                      "approval_endpoint.py"),
         os.path.join(APPROVAL_DIR, "ca"), str(APPROVAL_PORT), key,
         "pending_then_approve", "3"],
        stdout=subprocess.PIPE, stderr=out, text=True,
        start_new_session=True)
    info = json.loads(proc.stdout.readline())
    with open(os.path.join(APPROVAL_DIR, "endpoint.pid"), "w") as f:
        f.write(str(proc.pid))
    return info


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
    r = subprocess.run(stepup + ["app-password", "add", "demo", "--label",
                                 "phone", "--json"], capture_output=True,
                       text=True, env=dc.client_env(), check=True)
    app = json.loads(r.stdout)["password"]
    print("stepup app-password add demo --label phone: a phone's mail app "
          "logs in with a password of its own, without a code")
    print("app password, SELECT INBOX -> " + imap_open("demo", app, "INBOX"))
    print("app password, SELECT Direction -> " +
          imap_open("demo", app, "Direction"))
    code = totp.at(time.time() + totp.interval)
    print("password + code %s, SELECT Direction -> %s" %
          (code, imap_open("demo", "demopw" + code, "Direction")))


def approval_step(dc, stepup):
    step("Approval: the Confidentiel folder opens only when the approval "
         "endpoint says so (folder rule 'hr'); this demo's endpoint keeps "
         "the request pending for 3 s, then approves")
    dc.doveadm("mailbox", "create", "-u", "demo", "Confidentiel",
               check=True)
    imap = imaplib.IMAP4("127.0.0.1", IMAP_PORT)
    imap.login("demo", "demopw")
    print("a1 SELECT Confidentiel   (a password-only session: demo is in "
          "its grace period)")
    start = time.time()
    typ, data = imap.select("Confidentiel")
    for line in imap.untagged_responses.get("OK", []):
        if b"[ALERT]" in line:
            print("* OK " + line.decode())
    print("a1 %s %s   (after %.1f s)" % (typ, data[0].decode(),
                                          time.time() - start))
    imap.close()
    typ, _ = imap.select("Confidentiel")
    print("a2 SELECT Confidentiel -> %s at once: the grant lasts 15 minutes "
          "for demo from 127.0.0.1" % typ)
    imap.logout()
    show("stepup status demo   (the grant)", subprocess.run(
        stepup + ["status", "demo"], capture_output=True, text=True))
    show("stepup approval revoke demo Confidentiel", subprocess.run(
        stepup + ["approval", "revoke", "demo", "Confidentiel"],
        capture_output=True, text=True))


def start():
    stop(quiet=True)
    endpoint = start_endpoint()
    dc = Dovecot(name="stepup-demo", users=USERS, policy=sample_policy(),
                 root=ROOT, imap_port=IMAP_PORT, pop3_port=POP3_PORT,
                 detach=True)
    dc.start()
    stepup = [built("stepup"), "--policy", dc.policy_path]
    step("A sandbox Dovecot runs on 127.0.0.1 with the stepup modules")
    print("config:  %s\nlog:     %s\npolicy:  %s (doc/examples/stepup.conf "
          "and an approval rule)\napproval endpoint: %s"
          % (dc.conf, dc.log_path, dc.policy_path, endpoint["url"]))
    show("stepup policy check", subprocess.run(
        stepup + ["policy", "check"], capture_output=True, text=True))

    step("Login: the policy's default rule wants a code; demo has not "
         "enrolled yet (grace until enroll_by)")
    show("stepup policy explain --user demo --ip 127.0.0.1 --protocol imap",
         subprocess.run(stepup + ["policy", "explain", "--user", "demo",
                                  "--ip", "127.0.0.1", "--protocol", "imap"],
                        capture_output=True, text=True))
    print("IMAP login demo/demopw -> " + imap_try("demo", "demopw"))

    approval_step(dc, stepup)

    step("Enrollment: stepup enroll demo (the QR code goes to the "
         "authenticator app)")
    proc = subprocess.Popen(stepup + ["enroll", "demo", "--json"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=dc.client_env())
    first = json.loads(proc.stdout.readline())
    print(first["qr"])
    print("URI (holds the secret, shown only here): " + first["uri"])
    secret = pyotp.parse_uri(first["uri"]).secret
    totp = pyotp.TOTP(secret)
    confirm = totp.at(time.time() - 30)
    print("the app shows a code; typing it confirms the enrollment: %s"
          % confirm)
    out, _ = proc.communicate(confirm + "\n", timeout=60)
    result = json.loads(out.strip().splitlines()[-1])
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
                ("stepup: open" in line and ": Info: " in line) or \
                "stepup-audit: approval:" in line:
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
          "port %d.\nUsers: %s (demo is enrolled: append the code from an "
          "app set up with the URI above)" % (IMAP_PORT, POP3_PORT, ", ".join(
              "%s / %s" % kv for kv in USERS.items())))
    print("Watch the log:  tail -f %s" % dc.log_path)
    print("Stop the demo:  bash scripts/demo.sh stop")


def stop(quiet=False):
    conf = os.path.join(ROOT, "etc", "dovecot.conf")
    if os.path.exists(conf):
        subprocess.run(["doveadm", "-c", conf, "stop"], capture_output=True)
        pidfile = os.path.join(ROOT, "run", "master.pid")
        for _ in range(100):
            if not os.path.exists(pidfile):
                break
            time.sleep(0.1)
    pidfile = os.path.join(APPROVAL_DIR, "endpoint.pid")
    if os.path.exists(pidfile):
        with open(pidfile) as f:
            pid = int(f.read().strip() or 0)
        try:
            if pid > 0:
                os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    shutil.rmtree(APPROVAL_DIR, ignore_errors=True)
    if os.path.isdir(ROOT):
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
