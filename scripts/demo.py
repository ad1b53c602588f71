#!/usr/bin/env python3
"""The demo: a sandbox Dovecot on loopback with the stepup modules and the
sample policy. `demo.py start` starts it and walks through what it shows;
`demo.py stop` stops it and removes the sandbox (its logs included).

The sandbox lives outside the checkout (/run/stepup-demo, or
$STEPUP_DEMO_DIR), where Dovecot's unprivileged users can reach it
whatever the checkout's location (root's home is 0700 on Debian). A demo
left running (killed midway, or from an older checkout) is stopped first;
a failure stops the sandbox's Dovecot and says why, without a traceback.

The approval folder (Confidentiel, folder rule 'hr') has the project's
own approval service, stepup-approval, as its endpoint (HTTPS on
127.0.0.1, port STEPUP_DEMO_HTTPS_PORT, default 10443): a SELECT waits,
the request shows on the service's page, and the demo approves it from
the terminal (`stepup approval approve ID`, what the page's button does)."""

import datetime
import html
import http.client
import imaplib
import json
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse

import pyotp

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from dovecot_harness import Dovecot, built  # noqa: E402
# the service's block, in the configuration of the Dovecot found
import approval_service as asvc  # noqa: E402

ROOT = os.environ.get("STEPUP_DEMO_DIR", "/run/stepup-demo")
# where older versions kept the sandbox
OLD_ROOT = os.path.join(TOP, "_demo")
IMAP_PORT = int(os.environ.get("STEPUP_DEMO_IMAP_PORT", "10143"))
POP3_PORT = int(os.environ.get("STEPUP_DEMO_POP3_PORT", "10110"))
HTTPS_PORT = int(os.environ.get("STEPUP_DEMO_HTTPS_PORT", "10443"))
OFFICER = "officer@example.org"
USERS = {"demo": "demopw", "alice@example.org": "alicepw",
         OFFICER: "officerpw"}

# The approval folder and its endpoint: the stepup-approval service of
# the sandbox's Dovecot (doc/approvals.md, "Running it").
APPROVAL_POLICY = """
approval = {
  url = "https://127.0.0.1:%d/v1/requests";
  key_file = "{t}/etc/approval.key";
  ca_file = "{t}/etc/approval-cert.pem";
  timeout = "5s";
  wait = "25s";
  approvers = [ "%s" ];
};
""" % (HTTPS_PORT, OFFICER)
APPROVAL_RULE = ('  { name = "hr"; mailbox = "Confidentiel"; '
                 'require = "approval"; grant = "15m"; },\n')


def approval_service():
    """The approval service's executable, or None where this build has
    none."""
    try:
        return built("stepup-approval")
    except FileNotFoundError:
        return None


def sample_policy(approval=True):
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
    if not approval:
        return text
    return text.replace('  { name = "rest";', APPROVAL_RULE +
                        '  { name = "rest";') + APPROVAL_POLICY


def approval_files(dc):
    """Before Dovecot starts: the HMAC key the plugin's side and the
    service share (root's, group dovecot, 0640) and the service's TLS
    certificate for 127.0.0.1 (self-signed: the demo's CA is itself)."""
    etc = os.path.join(dc.t, "etc")
    key = os.path.join(etc, "approval.key")
    with open(key, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    os.chown(key, 0, pwd.getpwnam("dovecot").pw_gid)
    os.chmod(key, 0o640)
    r = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", os.path.join(etc, "approval-key.pem"), "-out",
         os.path.join(etc, "approval-cert.pem"), "-days", "30", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        capture_output=True, text=True)
    if r.returncode != 0:
        raise DemoError("openssl could not make the approval service's "
                        "certificate: " + r.stderr.strip())
    os.chmod(os.path.join(etc, "approval-key.pem"), 0o600)
    dc.approval_ca = os.path.join(etc, "approval-cert.pem")


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
    dc.doveadm("save", "-u", "demo", "-m", "Direction", check=True,
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
    return app


class RawIMAP:
    """Just enough IMAP to show the [ALERT] a waiting SELECT sends before
    its tagged answer (imaplib returns only when the command is done)."""

    def __init__(self):
        self.sock = socket.create_connection(("127.0.0.1", IMAP_PORT),
                                             timeout=60)
        self.f = self.sock.makefile("rb")
        self.f.readline()

    def send(self, tag, text):
        self.sock.sendall(("%s %s\r\n" % (tag, text)).encode())

    def line(self):
        line = self.f.readline().decode(errors="replace").rstrip("\r\n")
        if not line:
            raise DemoError("the IMAP server closed the connection")
        return line

    def until_tagged(self, tag):
        while True:
            line = self.line()
            if line.startswith(tag + " "):
                return line

    def close(self):
        self.sock.close()


class ApprovalPage:
    """The approval service's web page over HTTPS, as a browser uses it:
    the sign-in form (with its CSRF token and cookie), then the list."""

    def __init__(self, ca_file):
        self.ctx = ssl.create_default_context(cafile=ca_file)
        self.cookies = {}

    def request(self, method, path, form=None):
        conn = http.client.HTTPSConnection("127.0.0.1", HTTPS_PORT,
                                           context=self.ctx, timeout=20)
        headers = {"Cookie": "; ".join("%s=%s" % kv for kv in
                                       self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode()
            for name, value in resp.getheaders():
                if name.lower() == "set-cookie":
                    k, v = value.split(";", 1)[0].split("=", 1)
                    self.cookies[k.strip()] = v
            return resp.status, text
        finally:
            conn.close()

    def sign_in(self, user, password, code):
        _, text = self.request("GET", "/")
        m = re.search(r'name="csrf" value="([0-9a-f]+)"', text)
        if m is None:
            raise DemoError("the approval page shows no sign-in form")
        status, text = self.request("POST", "/signin", {
            "user": user, "password": password, "code": code,
            "csrf": m.group(1)})
        if "Pending requests" not in text:
            raise DemoError("signing in to the approval page failed "
                            "(HTTP %d)" % status)
        return text

    @staticmethod
    def requests(text):
        """{request id: {fact: value}} of the cards on the list page."""
        found = {}
        for rid, card in re.findall(
                r'<section class="card" id="r-([0-9a-f]+)">(.*?)</section>',
                text, re.S):
            found[rid] = {html.unescape(k): html.unescape(v) for k, v in
                          re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", card)}
        return found


def approval_step(dc, stepup, app, officer_code):
    url = "https://127.0.0.1:%d/" % HTTPS_PORT
    step("Approval: the Confidentiel folder opens only after someone "
         "approves it (folder rule 'hr'); the endpoint is the approval "
         "service stepup-approval, its page is " + url)
    dc.doveadm("mailbox", "create", "-u", "demo", "Confidentiel",
               check=True)
    imap = RawIMAP()
    try:
        imap.send("a1", "LOGIN demo \"%s\"" % app)
        if not imap.until_tagged("a1").startswith("a1 OK"):
            raise DemoError("the phone's app password was refused")
        print("the phone (its app password) sends: a2 SELECT Confidentiel")
        started = time.monotonic()
        imap.send("a2", "SELECT Confidentiel")
        while True:
            line = imap.line()
            if line.startswith("a2 "):
                raise DemoError("SELECT Confidentiel did not wait for an "
                                "approval: " + line)
            if "[ALERT]" in line:
                break
        print("  " + line)
        m = re.search(r"\(code (\d+)\)", line)
        binding = m.group(1) if m else ""

        page = ApprovalPage(dc.approval_ca)
        page.sign_in(OFFICER, USERS[OFFICER], officer_code)
        cards = {rid: facts for rid, facts in
                 page.requests(page.request("GET", "/")[1]).items()
                 if facts.get("User") == "demo" and
                 facts.get("Folder") == "Confidentiel"}
        if len(cards) != 1:
            raise DemoError("the approval page does not list the request "
                            "(%d cards for demo, Confidentiel)" % len(cards))
        rid, facts = cards.popitem()
        print("%s (signed in as %s, password + code %s) lists it:"
              % (url, OFFICER, officer_code))
        print("  request %s: %s" % (rid, ", ".join(
            "%s %s" % (k.lower(), v) for k, v in facts.items()
            if k in ("User", "Folder", "Address", "Level",
                     "Binding code", "Rule"))))
        if binding and facts.get("Binding code") != binding:
            raise DemoError("the page shows another binding code than "
                            "the mail client")
        # a short pending: the SELECT keeps waiting meanwhile
        time.sleep(2)
        socket_path = os.path.join(dc.t, "run", "stepup-approval")
        show("stepup approval approve %s --reason 'demo'   (the page's "
             "Approve button does the same)" % rid,
             subprocess.run(stepup + ["approval", "approve", rid,
                                      "--reason", "demo", "--socket",
                                      socket_path],
                            capture_output=True, text=True, timeout=60))
        answer = imap.until_tagged("a2")
        print("  %s   (after %.0f s of waiting)" % (
            re.sub(r" \([0-9.+ ]+ secs\)", "", answer),
            time.monotonic() - started))
        if not answer.startswith("a2 OK"):
            raise DemoError("the approved SELECT did not open: " + answer)
        imap.send("a3", "SELECT Confidentiel")
        print("a3 SELECT Confidentiel -> %s at once: the grant lasts 15 "
              "minutes for demo from 127.0.0.1" %
              imap.until_tagged("a3").split(" ")[1])
        imap.send("a4", "LOGOUT")
        imap.until_tagged("a4")
    finally:
        imap.close()
    show("stepup audit report --mailbox Confidentiel   (the approval's "
         "records and the opens they led to)",
         subprocess.run(stepup + ["audit", "report", "--mailbox",
                                  "Confidentiel"], capture_output=True,
                        text=True))


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
    approval = approval_service()
    busy = [p for p in (IMAP_PORT, POP3_PORT) +
            ((HTTPS_PORT,) if approval else ()) if port_in_use(p)]
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
    dc = Dovecot(name="stepup-demo", users=USERS,
                 policy=sample_policy(approval), root=ROOT,
                 imap_port=IMAP_PORT, pop3_port=POP3_PORT, detach=True,
                 extra=asvc.service_extra(HTTPS_PORT, asvc.SERVICE_ARGS)
                 if approval else "",
                 setup_hook=approval_files if approval else None)
    try:
        walk_through(dc, approval)
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


def enroll(dc, stepup, user):
    """stepup enroll USER --json, confirmed with the code of the previous
    step (the codes of this step and the next stay unused); (first JSON
    line, the confirming code, the result, pyotp.TOTP)."""
    proc = subprocess.Popen(stepup + ["enroll", user, "--json"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dc.client_env())
    line = proc.stdout.readline()
    try:
        first = json.loads(line)
    except ValueError:
        proc.kill()
        _, err = proc.communicate(timeout=60)
        raise DemoError("stepup enroll %s failed: %s" % (
            user, err.strip() or line.strip() or "no output"))
    totp = pyotp.TOTP(pyotp.parse_uri(first["uri"]).secret)
    confirm = totp.at(time.time() - 30)
    out, err = proc.communicate(confirm + "\n", timeout=60)
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise DemoError("stepup enroll %s failed: %s" % (user, err.strip()))
    return first, confirm, result, totp


def walk_through(dc, approval):
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
    first, confirm, result, totp = enroll(dc, stepup, "demo")
    print(first["qr"])
    print("URI (holds the secret, shown only here): " + first["uri"])
    print("the app shows a code; typing it confirms the enrollment: %s"
          % confirm)
    print("enrolled: %s; recovery codes (shown once): %s ..." %
          (result["enrolled"], ", ".join(result["recovery_codes"][:3])))
    if approval:
        officer_uri, _, _, officer = enroll(dc, stepup, OFFICER)
        print("(the security officer %s, an approver, is enrolled too)" %
              OFFICER)

    step("Login with the password alone is now refused")
    print("IMAP login demo/demopw -> " + imap_try("demo", "demopw"))
    code = totp.now()
    print("IMAP login demo/demopw%s (password + code) -> %s" %
          (code, imap_try("demo", "demopw" + code)))
    print("the same string again (a replay) -> " +
          imap_try("demo", "demopw" + code))
    print("a wrong password with the next code -> " +
          imap_try("demo", "wrongpw" + totp.at(time.time() + 30)))

    app = folder_step_up(dc, stepup, totp)
    if approval:
        approval_step(dc, stepup, app, officer.now())
    else:
        step("Approval: skipped, this build has no stepup-approval "
             "service (Dovecot 2.4: not ported yet)")

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
    if approval:
        print("The approval page: https://127.0.0.1:%d/ (its certificate: "
              "%s)\n  %s / officerpw + a code from an app set up with\n"
              "  %s\n  signs in as the approver; SELECT Confidentiel "
              "waits for him" % (HTTPS_PORT, dc.approval_ca, OFFICER,
                                 officer_uri["uri"]))
    print("Watch the log:  tail -f %s" % dc.log_path)
    print("Stop the demo:  bash scripts/demo.sh stop   (removes %s, logs "
          "included)" % ROOT)


def stop_sandbox(root):
    """Stop the Dovecot of a sandbox (bounded wait); whether one ran."""
    conf = os.path.join(root, "etc", "dovecot.conf")
    pidfile = os.path.join(root, "run", "master.pid")
    if not os.path.exists(conf):
        return False
    # with Dovecot 2.4, doveadm must see the demo's settings module
    inst = Dovecot(root=root)
    inst.t = root
    subprocess.run(inst.wrap(["doveadm", "-c", conf, "stop"]),
                   capture_output=True, timeout=60)
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
