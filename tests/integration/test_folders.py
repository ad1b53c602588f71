"""Folder rules against a real Dovecot: every path into a protected folder
(SELECT, EXAMINE, STATUS, LIST-STATUS, GETMETADATA, APPEND, COPY, RENAME
and DELETE of the folder or a parent, POP3) with a password session, and
the same paths with a TOTP session (codes from pyotp)."""

import hashlib
import hmac
import imaplib
import json
import os
import poplib
import re
import socket

import pyotp
import pytest

from dovecot_harness import by_version
from test_login import enroll, stepup

POLICY = """\
version = 1;
mode = "MODE";
totp = { issuer = "Test"; window = 1; reconnect = "1h";
         reconnect_idle = "1h"; };
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
approval = { url = "http://127.0.0.1:9/approve";
             key_file = "{t}/etc/approval.key"; };
login = (
  { name = "pw"; users = [ "pw", "popu" ]; require = "password"; },
  { name = "default"; require = "totp"; }
);
folders = (
  { name = "direction"; mailbox = "Direction"; require = "totp"; max_age = "1h"; },
  { name = "projsec"; mailbox = "Projects/Secret"; require = "totp"; },
  { name = "hidden"; mailbox = "Hidden"; require = "deny"; },
  { name = "hr"; mailbox = "Confidentiel"; require = "approval"; },
  { name = "either"; mailbox = "Either"; require = "totp_or_approval"; },
  { name = "private"; mailbox = "inbox/Private"; require = "totp"; },
  { name = "popinbox"; users = [ "popu" ]; mailbox = "INBOX"; require = "totp"; },
  { name = "bulk"; mailbox = "Bulk"; require = "totp";
    fetch_limit = { messages = 3; window = "1h"; }; },
  { name = "rest"; mailbox = "*"; require = "none"; }
);
"""

EXTRA = by_version("""\
mail_attribute_dict = file:%h/dovecot-attributes
imap_metadata = yes
""", """\
mail_attribute {
  dict file {
    path = %{home}/dovecot-attributes
  }
}
imap_metadata = yes
""")

FOLDERS = ("Direction", "Direction/Sub", "Projects", "Projects/Secret",
           "Projects/Open", "Hidden", "Confidentiel", "Either", "Bulk",
           "INBOX/Private",
           "Misc")
MARKER = "marker-of-a-protected-message"
MESSAGE = ("From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\n\r\n"
           + MARKER + "\r\n")

imaplib.Commands.setdefault("GETMETADATA", ("AUTH", "SELECTED"))


def save(dc, user, mailbox):
    r = dc.doveadm("save", "-u", user, "-m", mailbox, input=MESSAGE)
    assert r.returncode == 0, r.stderr


def prepare(dc, user):
    r = dc.doveadm("mailbox", "create", "-u", user, *FOLDERS)
    assert r.returncode == 0, r.stderr
    for box in ("INBOX", "Direction", "Projects/Secret"):
        save(dc, user, box)


def start(factory, mode):
    dc = factory(name="folders", users={"pw": "pwpw", "tot": "totpw",
                                        "popu": "popupw"},
                 policy=POLICY.replace("MODE", mode), extra=EXTRA)
    with open(dc.fmt("{t}/etc/approval.key"), "wb") as f:
        f.write(b"k" * 32)
    for user in ("pw", "tot", "popu"):
        prepare(dc, user)
    for _ in range(5):
        save(dc, "tot", "Bulk")
    secret, _ = enroll(dc, "tot")
    # one password+code string, reused as a reconnect by every test
    dc.tot_string = "totpw" + pyotp.TOTP(secret).now()
    return dc


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    return start(dovecot_factory, "enforce")


def session(dc, user):
    password = dc.tot_string if user == "tot" else user + "pw"
    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port, timeout=10)
    imap.login(user, password)
    return imap


def result(typ_data):
    typ, data = typ_data
    text = b" ".join(x for x in data if isinstance(x, bytes)).decode()
    return typ, text


def command(imap, name, *args):
    """(status, text) of a command imaplib has no method for."""
    try:
        typ, data = imap._simple_command(name, *args)
    except imaplib.IMAP4.error as e:
        return "NO", str(e)
    return typ, b" ".join(x for x in data if isinstance(x, bytes)).decode()


def untimed(text):
    """A reply without Dovecot's "(0.001 + 0.000 secs)" timing."""
    return re.sub(r" \([0-9.]+ \+ [0-9.]+( \+ [0-9.]+)? secs\)", "", text)


def refused_for_totp(typ_text):
    typ, text = typ_text
    return typ == "NO" and "[NOPERM]" in text and "two-step login" in text


def folder_names(imap):
    typ, data = imap.list()
    assert typ == "OK"
    return {x.decode().rsplit(" ", 1)[1].strip('"') for x in data}


def test_select_and_examine_refused_with_a_password_session(dc):
    imap = session(dc, "pw")
    for box in ("Direction", "Direction/Sub", "Projects/Secret"):
        assert refused_for_totp(result(imap.select(box))), box
        assert refused_for_totp(result(imap.select(box, readonly=True))), box
    assert imap.select("Projects/Open")[0] == "OK"
    typ, data = imap.select("INBOX")
    assert typ == "OK" and data[0] == b"1"
    imap.logout()


def test_inbox_rule_matches_any_case(dc):
    imap = session(dc, "pw")
    for box in ("INBOX/Private", "inbox/Private", "Inbox/Private"):
        assert refused_for_totp(result(imap.select(box))), box
    imap.logout()


def test_status_and_list_status_show_nothing(dc):
    imap = session(dc, "pw")
    assert refused_for_totp(result(imap.status("Direction", "(MESSAGES)")))
    assert imap.status("Projects/Open", "(MESSAGES)")[0] == "OK"
    typ, _ = command(imap, "LIST", '""', '"*"', "RETURN",
                     "(STATUS (MESSAGES UIDNEXT))")
    assert typ == "OK"
    statuses = [x.decode() for x in imap.untagged_responses.pop("STATUS",
                                                                [])]
    assert any("Projects/Open" in s for s in statuses), statuses
    assert any("INBOX" in s for s in statuses), statuses
    for s in statuses:
        assert "Direction" not in s and "Projects/Secret" not in s, s
    imap.logout()


def test_getmetadata_refused(dc):
    imap = session(dc, "pw")
    assert refused_for_totp(command(imap, "GETMETADATA", "Direction",
                                    "/private/comment"))
    assert command(imap, "GETMETADATA", "Projects/Open",
                   "/private/comment")[0] == "OK"
    imap.logout()


def test_append_and_copy_into_refused(dc):
    imap = session(dc, "pw")
    assert refused_for_totp(result(imap.append("Direction", None, None,
                                               MESSAGE.encode())))
    assert imap.select("INBOX")[0] == "OK"
    assert refused_for_totp(result(imap.copy("1", "Direction")))
    assert imap.copy("1", "Projects/Open")[0] == "OK"
    imap.logout()


def test_rename_and_delete_of_folder_or_parent_refused(dc):
    imap = session(dc, "pw")
    assert refused_for_totp(result(imap.rename("Direction", "Leak")))
    # the parent: renaming it would move Projects/Secret out of its rule
    typ, text = result(imap.rename("Projects", "Leak"))
    assert typ == "NO" and "[NOPERM]" in text and "protected folder" in text
    # into a protected folder
    assert refused_for_totp(result(imap.rename("Misc", "Direction/Misc")))
    assert refused_for_totp(result(imap.delete("Direction")))
    assert refused_for_totp(result(imap.delete("Direction/Sub")))
    typ, text = result(imap.delete("Projects"))
    assert typ == "NO" and "protected folder" in text
    names = folder_names(imap)
    for box in ("Direction", "Direction/Sub", "Projects", "Projects/Secret",
                "Misc"):
        assert box in names, names
    assert "Leak" not in names and "Leak/Secret" not in names
    # an unprotected folder renames as usual
    assert imap.rename("Misc", "Misc2")[0] == "OK"
    assert imap.rename("Misc2", "Misc")[0] == "OK"
    imap.logout()


def test_deny_folder_looks_like_no_folder(dc):
    imap = session(dc, "pw")
    typ, hidden = result(imap.select("Hidden"))
    typ2, nowhere = result(imap.select("Nowhere"))
    assert typ == typ2 == "NO"
    assert "doesn't exist" in hidden
    assert untimed(hidden).replace("Hidden", "X") == \
        untimed(nowhere).replace("Nowhere", "X")
    imap.logout()
    # for TOTP sessions as well
    imap = session(dc, "tot")
    typ, hidden = result(imap.select("Hidden"))
    assert typ == "NO" and "doesn't exist" in hidden
    imap.logout()


def test_approval_folder_refused_without_an_approval(dc):
    imap = session(dc, "pw")
    typ, text = result(imap.select("Confidentiel"))
    assert typ == "NO" and "[NOPERM]" in text and "approval" in text
    imap.logout()


def test_totp_or_approval_opens_with_a_code(dc):
    imap = session(dc, "pw")
    assert refused_for_totp(result(imap.select("Either")))
    imap.logout()
    imap = session(dc, "tot")
    assert imap.select("Either")[0] == "OK"
    imap.logout()
    # approvals are no longer announced as left out
    assert "approvals are not available" not in dc.log()


def test_pop3_inbox_rule(dc):
    pop = poplib.POP3("127.0.0.1", dc.pop3_port, timeout=10)
    pop.user("popu")
    # pop3-login says +OK before the pop3 process opens INBOX; the open is
    # refused and the session ends without a single message listed
    with pytest.raises((poplib.error_proto, OSError, EOFError)):
        pop.pass_("popupw")
        pop.stat()
    pop.close()
    assert dc.wait_log("Couldn't open INBOX: This folder needs a recent "
                       "two-step login")
    pop = poplib.POP3("127.0.0.1", dc.pop3_port, timeout=10)
    pop.user("pw")
    pop.pass_("pwpw")
    assert pop.stat()[0] >= 1
    pop.quit()


def test_totp_session_reaches_everything_allowed(dc):
    imap = session(dc, "tot")
    typ, data = imap.select("Direction")
    assert typ == "OK" and data[0] == b"1"
    typ, data = imap.fetch("1", "(BODY.PEEK[TEXT])")
    assert typ == "OK" and MARKER.encode() in data[0][1]
    assert imap.status("Projects/Secret", "(MESSAGES)")[0] == "OK"
    assert command(imap, "GETMETADATA", "Direction",
                   "/private/comment")[0] == "OK"
    assert imap.rename("Projects", "Projects2")[0] == "OK"
    assert imap.rename("Projects2", "Projects")[0] == "OK"
    assert "Projects/Secret" in folder_names(imap)
    imap.logout()


def audit_records(dc):
    with open(dc.fmt("{t}/log/audit.jsonl")) as f:
        return [json.loads(line) for line in f]


def opens_since(dc, count, **match):
    return [r for r in audit_records(dc)[count:] if r["event"] == "open"
            and all(r[k] == v for k, v in match.items())]


def test_folder_decisions_are_audited(dc):
    count = len(audit_records(dc))
    imap = session(dc, "pw")
    imap.select("Direction")
    imap.select("Projects/Open")        # no rule guards it: not recorded
    imap.rename("Projects", "Leak")
    imap.logout()
    imap = session(dc, "pw")
    imap.status("Projects/Secret", "(MESSAGES)")
    imap.logout()
    imap = session(dc, "tot")
    # counts a session may see are not recorded as such (when Dovecot has
    # to open the folder to count, the open is)
    imap.status("Projects/Secret", "(MESSAGES)")
    imap.select("Direction")
    imap.logout()
    [status] = [r for r in opens_since(dc, count, user="pw",
                                       mailbox="Projects/Secret")
                if r["reason"].startswith("status: ")]
    assert status["decision"] == "deny"
    assert not [r for r in opens_since(dc, count, user="tot")
                if r["reason"].startswith("status: ")]
    [deny] = opens_since(dc, count, user="pw", mailbox="Direction")
    assert deny["decision"] == "deny" and deny["rule"] == "direction"
    assert deny["auth"] == "password" and deny["service"] == "imap"
    assert deny["ip"] == "127.0.0.1" and deny["session"]
    assert "requires a two-step login" in deny["reason"]
    [allow] = opens_since(dc, count, user="tot", mailbox="Direction")
    assert allow["decision"] == "allow" and allow["auth"] == "totp"
    assert not opens_since(dc, count, mailbox="Projects/Open")
    [rename] = [r for r in opens_since(dc, count, user="pw",
                                       mailbox="Projects/Secret")
                if r["reason"].startswith("change: ")]
    assert rename["decision"] == "deny"
    # one chain with the auth process's login records
    r = stepup(dc, "audit", "verify", dc.fmt("{t}/log/audit.jsonl"))
    assert r.returncode == 0 and "chain intact" in r.stdout, r.stdout


def test_audit_report_says_who_opened_what(dc, tmp_path):
    imap = session(dc, "pw")
    imap.select("Direction")
    imap.logout()
    imap = session(dc, "tot")
    imap.select("Direction/Sub")
    imap.logout()
    # the log named by the policy; folder decisions by default
    r = stepup(dc, "audit", "report", "--mailbox", "Direction",
               "--since", "1h")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(" open pw deny Direction (auth=password, imap from "
               "127.0.0.1, rule=direction): " in x for x in lines), lines
    assert any(" open tot allow Direction/Sub (auth=totp, " in x
               for x in lines), lines
    assert all(" open " in x for x in lines[:-1])
    assert lines[-1] == "%d records shown" % (len(lines) - 1)
    r = stepup(dc, "audit", "report", "--user", "pw", "--json")
    out = json.loads(r.stdout)
    assert out["intact"] is True and out["records"]
    assert {x["user"] for x in out["records"]} == {"pw"}
    # one user alone: their logins too (issue 23, item 10)
    assert {"login", "open"} <= {x["event"] for x in out["records"]}
    r = stepup(dc, "audit", "report", "--user", "tot", "--all", "--json")
    events = {x["event"] for x in json.loads(r.stdout)["records"]}
    assert {"login", "open", "enroll"} <= events, events
    r = stepup(dc, "audit", "report", "--since", "2999-01-01", "--json")
    assert json.loads(r.stdout)["records"] == []
    for bad in (["--since", "yesterday"], ["--user"], ["--bogus"],
                ["a.jsonl", "b.jsonl"]):
        assert stepup(dc, "audit", "report", *bad).returncode == 2, bad
    # what clients sent reaches the terminal without control characters
    weird = "Direction/\x1b]2;pwned\x07"
    assert audit_service_request(dc, (
        "open\tpw\tS\timap\t::1\t%s\tdirection\tdeny\tr\tpassword\n"
        % weird).encode(), hello=("pw", "S")) == b"+\n"
    r = stepup(dc, "audit", "report", "--mailbox", "Direction")
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    assert "Direction/?]2;pwned?" in r.stdout
    r = stepup(dc, "audit", "report", "--mailbox", "Direction", "--json")
    assert weird in [x["mailbox"] for x in json.loads(r.stdout)["records"]]
    # a changed record: the report still shows, but says so and fails
    with open(dc.fmt("{t}/log/audit.jsonl")) as f:
        text = f.read()
    bad = tmp_path / "audit.jsonl"
    bad.write_text(text.replace('"user":"pw"', '"user":"px"', 1))
    r = stepup(dc, "audit", "report", str(bad), "--all")
    assert r.returncode == 1
    assert "the chain is broken" in r.stderr and "px" in r.stdout


def audit_token(dc, user, session):
    """The audit token the passdb gives a session (the key is root's)."""
    with open(dc.fmt("{t}/etc/session.key.audit"), "rb") as f:
        key = f.read()
    msg = b"".join(x.encode() + b"\0" for x in
                   (user, session, "audit-token", "", ""))
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def audit_service_request(dc, data, hello=None, token=None):
    """What the stepup-audit service answers to raw bytes (b"" = it hung
    up), as a compromised mail process could send them; hello=(user,
    session) first binds the connection with the session's audit token
    (or with token)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(dc.fmt("{t}/run/stepup-audit"))
        try:
            if hello:
                s.sendall(("hello\t%s\t%s\t%s\n" % (
                    hello + (token or audit_token(dc, *hello),))).encode())
                if s.recv(16) != b"+\n":
                    return b""
            s.sendall(data)
            return s.recv(16)
        except (BrokenPipeError, ConnectionResetError):
            return b""


def test_audit_service_refuses_forged_requests(dc):
    count = len(audit_records(dc))
    mark = dc.log_mark()
    # only folder decisions: no forged logins or enrollments
    forged = b"login\tpw\tS\timap\t1.2.3.4\t\t\tallow\tok\ttotp\n"
    assert audit_service_request(dc, forged) == b""
    assert audit_service_request(dc, b"x" * 40000) == b""
    assert audit_service_request(dc, b"open\tpw\n") == b""
    good = b"open\tpw\tS\timap\t::1\tDirection\tdirection\tdeny\tr\tpassword\n"
    assert audit_service_request(dc, good, hello=("pw", "S")) == b"+\n"
    records = audit_records(dc)[count:]
    assert [r["event"] for r in records] == ["open"]
    log = dc.log_since(mark)
    assert "only folder decisions (event open), fetch counts and " \
        "approvals are accepted" in log
    assert "longer than 32768 bytes" in log
    assert "1 fields instead of 10" in log or "2 fields instead of 10" in log


def test_guarded_access_needs_the_audit_service(dc):
    sock = dc.fmt("{t}/run/stepup-audit")
    os.rename(sock, sock + ".off")
    try:
        imap = session(dc, "tot")
        typ, text = result(imap.select("Direction"))
        assert typ == "NO" and "[UNAVAILABLE]" in text
        assert "audit log unavailable" in text
        assert imap.select("Projects/Open")[0] == "OK"
        imap.logout()
        imap = session(dc, "pw")
        assert refused_for_totp(result(imap.select("Direction")))
        imap.logout()
    finally:
        os.rename(sock + ".off", sock)
    imap = session(dc, "tot")
    assert imap.select("Direction")[0] == "OK"
    imap.logout()
    assert dc.wait_log("stepup: audit: net_connect_unix(%s) failed" % sock)


def test_fetch_limit_stops_a_bulk_read(dc):
    count = len(audit_records(dc))
    imap = session(dc, "tot")
    assert imap.select("Bulk")[0] == "OK"
    # headers, flags and structure are not counted
    typ, data = imap.fetch("1:5", "(FLAGS BODY.PEEK[HEADER])")
    assert typ == "OK" and len([x for x in data if isinstance(x, tuple)]) == 5
    typ, data = imap.fetch("1:3", "(BODY.PEEK[])")
    assert typ == "OK" and all(MARKER.encode() in x[1] for x in data
                               if isinstance(x, tuple))
    # each message counts once per session
    assert imap.fetch("2", "(BODY.PEEK[TEXT])")[0] == "OK"
    # the fourth body is over the limit: refused, the session goes on
    typ, data = imap.fetch("4", "(BODY.PEEK[])")
    assert typ == "NO" and b"[LIMIT] Too many messages read" in data[0]
    assert MARKER.encode() not in str(data).encode()
    assert imap.noop()[0] == "OK"
    # the count is per user and rule across sessions, until the window ends
    imap = session(dc, "tot")
    imap.select("Bulk")
    assert imap.fetch("5", "(BODY.PEEK[HEADER])")[0] == "OK"
    typ, data = imap.fetch("1", "(BODY.PEEK[])")
    assert typ == "NO" and MARKER.encode() not in str(data).encode()
    assert dc.wait_log("stepup: fetch_limit of rule 'bulk' reached "
                       "(3 messages per 3600s)")
    [rec] = [r for r in audit_records(dc)[count:]
             if r["event"] == "fetch_limit"]
    assert rec["user"] == "tot" and rec["rule"] == "bulk"
    assert rec["decision"] == "deny" and rec["mailbox"] == "Bulk"
    assert "more than 3 messages read within 3600s" in rec["reason"]
    # other folders are not affected, and saving is not reading
    imap = session(dc, "tot")
    imap.select("Direction")
    assert imap.fetch("1", "(BODY.PEEK[])")[0] == "OK"
    assert imap.append("Bulk", None, None, MESSAGE.encode())[0] == "OK"
    imap.select("Bulk")
    # a copy (a hard link on maildir) is a read: a session cannot copy
    # the folder elsewhere and read it there
    typ, text = result(imap.copy("1", "Projects/Open"))
    assert typ == "NO" and "Too many messages read" in text, text
    assert imap.noop()[0] == "OK"
    imap.logout()


def test_decisions_are_logged_and_doveadm_is_allowed(dc):
    mark = dc.log_mark()
    imap = session(dc, "pw")
    imap.select("Direction")
    imap.logout()
    r = dc.doveadm("fetch", "-u", "pw", "text", "mailbox", "Direction")
    assert r.returncode == 0 and MARKER in r.stdout, r.stderr
    assert "open deny (rule=direction, auth=password)" in dc.log_since(mark)
    # doveadm logs to its own stderr
    assert "open allow (rule=direction, auth=none, admin)" in r.stderr
    admin = [x for x in audit_records(dc) if x["service"] == "doveadm"
             and x["mailbox"] == "Direction" and x["event"] == "open"]
    assert admin and admin[-1]["decision"] == "allow"
    assert admin[-1]["reason"].startswith("admin access: ")
    # and the body it fetched is a read
    reads = [x for x in audit_records(dc) if x["service"] == "doveadm"
             and x["mailbox"] == "Direction" and x["event"] == "read"]
    assert reads and reads[-1]["uid"] == 1 and reads[-1]["size"] > 0


def test_audit_mode_allows_and_logs(dovecot_factory):
    dc = start(dovecot_factory, "audit")
    mark = dc.log_mark()
    imap = session(dc, "pw")
    typ, data = imap.select("Direction")
    assert typ == "OK" and data[0] == b"1"
    assert imap.rename("Projects", "Projects2")[0] == "OK"
    imap.logout()
    log = dc.log_since(mark)
    assert "open allow (rule=direction, auth=password, audit mode)" in log
    assert "change allow (rule=projsec, auth=password, audit mode)" in log
    [rec] = [x for x in audit_records(dc) if x["event"] == "open" and
             x["mailbox"] == "Direction" and x["service"] == "imap"]
    assert rec["decision"] == "allow"
    assert rec["reason"].startswith("audit mode: enforce would deny: ")
    # fetch_limit: every body readable, the record says what would happen
    imap = session(dc, "tot")
    imap.select("Bulk")
    typ, data = imap.fetch("1:5", "(BODY.PEEK[])")
    assert typ == "OK" and len([x for x in data if isinstance(x, tuple)]) == 5
    imap.logout()
    [rec] = [x for x in audit_records(dc) if x["event"] == "fetch_limit"]
    assert rec["decision"] == "allow"
    assert rec["reason"].startswith("audit mode: enforce would deny: ")
