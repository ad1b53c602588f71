"""What an adversarial probe found (issue 16), against a real Dovecot:
CREATE beneath a guarded folder, `deny` folders in every kind of LIST and
in CREATE's answer, the read-refusal path of fetch_limit (every FETCH item,
URLFETCH, CATENATE, SEARCH), the audit service trusting the user a mail
process names, and full-text search of guarded folders."""

import glob
import imaplib
import json
import os
import random
import re
import shutil
import socket
import subprocess

import pyotp
import pytest

from dovecot_harness import by_version
from test_folders import command, untimed
from test_login import enroll

POLICY = """\
version = 1;
totp = { issuer = "Test"; window = 1; reconnect = "1h";
         reconnect_idle = "1h"; };
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
approval = { url = "http://127.0.0.1:9/approve";
             key_file = "{t}/etc/approval.key"; };
login = (
  { name = "pw"; users = [ "pw" ]; require = "password"; },
  { name = "default"; require = "totp"; }
);
folders = (
  { name = "secret"; mailbox = "Secret"; require = "totp"; },
  { name = "projsec"; mailbox = "Proj/Secret"; require = "totp"; },
  { name = "hidden"; mailbox = "Hidden"; require = "deny"; },
  { name = "deepdeny"; mailbox = "Proj/Deny"; require = "deny"; },
  { name = "solodeny"; mailbox = "Solo/Deny"; require = "deny"; },
  { name = "hr"; mailbox = "Appr"; require = "approval"; },
  { name = "bulk"; mailbox = "Bulk"; require = "totp";
    fetch_limit = { messages = 2; window = "1h"; }; },
  { name = "rest"; mailbox = "*"; require = "none"; }
);
"""

EXTRA = by_version("""\
namespace alias {
  prefix = Alias/
  separator = /
  location = maildir:~/Maildir:INDEX=~/alias-index
  list = yes
  subscriptions = no
}
mail_attribute_dict = file:%h/dovecot-attributes
protocol imap {
  imap_urlauth_host = *
  imap_metadata = yes
}
""", """\
namespace alias {
  prefix = Alias/
  separator = /
  mail_driver = maildir
  mail_path = ~/Maildir
  mail_index_path = ~/alias-index
  list = yes
  subscriptions = no
}
mail_attribute {
  dict file {
    path = %{home}/dovecot-attributes
  }
}
protocol imap {
  imap_urlauth_host = *
  imap_metadata = yes
}
""")

FOLDERS = ("Secret", "Proj", "Proj/Secret", "Proj/Deny", "Proj/Open",
           "Hidden", "Hidden/Sub", "Appr", "Bulk", "Open", "Solo",
           "Solo/Deny", "Solo/Deny/Deeper")
MESSAGE = ("From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\n"
           "Message-ID: <m@example.org>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
           "--b\r\nContent-Type: text/plain\r\n\r\nmarker-of-a-guarded-part\r\n"
           "zebra\r\n"
           "--b\r\nContent-Type: application/octet-stream\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n")
MARKER = b"marker-of-a-guarded-part"

for name in ("GETMETADATA", "GENURLAUTH", "URLFETCH", "NOTIFY", "XLIST"):
    imaplib.Commands.setdefault(name, ("AUTH", "SELECTED"))


def save(dc, user, mailbox, text=MESSAGE):
    r = dc.doveadm("save", "-u", user, "-m", mailbox, input=text)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    dc = dovecot_factory(name="probe", users={"pw": "pwpw", "tot": "totpw"},
                         policy=POLICY, extra=EXTRA)
    with open(dc.fmt("{t}/etc/approval.key"), "wb") as f:
        f.write(b"k" * 32)
    fill(dc, FOLDERS, ("INBOX", "Secret", "Hidden", "Open"))
    return dc


def fill(dc, folders, with_message):
    """Folders for pw and tot, one message in some, six in tot's Bulk;
    tot enrolled, with a password+code string every session reuses."""
    for user in ("pw", "tot"):
        r = dc.doveadm("mailbox", "create", "-u", user, *folders)
        assert r.returncode == 0, r.stderr
        for box in with_message:
            save(dc, user, box)
    for _ in range(6):
        save(dc, "tot", "Bulk")
    secret, _ = enroll(dc, "tot")
    dc.tot_string = "totpw" + pyotp.TOTP(secret).now()


def session(dc, user):
    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port, timeout=10)
    imap.login(user, dc.tot_string if user == "tot" else "pwpw")
    return imap


def listed(imap, *args, name="LIST"):
    """Folder names in the untagged replies of a LIST-like command."""
    imap.untagged_responses.pop(name, None)
    typ, _ = command(imap, name, *args)
    assert typ == "OK"
    out = imap.untagged_responses.pop(name, [])
    return [x.decode() if isinstance(x, bytes) else repr(x) for x in out]


def doveadm_names(dc, user):
    r = dc.doveadm("mailbox", "list", "-u", user)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


# -- 1. CREATE beneath a guarded folder

def test_create_beneath_a_guarded_folder_needs_its_access(dc):
    imap = session(dc, "pw")
    for name in ("Secret/New", "Alias/Secret/New2", "Proj/Secret/New3",
                 "Secret/A/B", "Appr/New"):
        typ, text = command(imap, "CREATE", '"%s"' % name)
        assert typ == "NO" and "[NOPERM]" in text, (name, text)
    # an existing guarded folder: refused, not "already exists"
    typ, text = command(imap, "CREATE", "Secret")
    assert typ == "NO" and "[NOPERM]" in text and "two-step" in text
    assert command(imap, "CREATE", "Proj/Open/New")[0] == "OK"
    imap.logout()
    names = doveadm_names(dc, "pw")
    for name in ("Secret/New", "Secret/New2", "Proj/Secret/New3",
                 "Secret/A", "Appr/New"):
        assert name not in names, names
    # a TOTP session may
    imap = session(dc, "tot")
    assert command(imap, "CREATE", "Secret/New")[0] == "OK"
    assert command(imap, "CREATE", "Alias/Secret/New2")[0] == "OK"
    imap.logout()
    assert "Secret/New" in doveadm_names(dc, "tot")


# -- 2. `deny` folders are not listed

def test_deny_folders_are_not_listed(dc):
    # subscribed by the admin (a session may not subscribe to it)
    r = dc.doveadm("mailbox", "subscribe", "-u", "tot", "Hidden", "Open")
    assert r.returncode == 0, r.stderr
    imap = session(dc, "tot")
    variants = [
        ("LIST", '""', '"*"'), ("LIST", '""', '"%"'),
        ("LIST", '""', '"Hid%"'), ("LIST", '""', "Hidden"),
        ("LIST", '""', '"Hidden/*"'), ("LIST", '""', '"Proj/*"'),
        ("LIST", '""', '"Alias/*"'), ("LIST", '""', '"*Sub"'),
        ("LIST", '"Hidden/"', '"*"'),
        ("LIST", "(SUBSCRIBED)", '""', '"*"'),
        ("LIST", "(SUBSCRIBED RECURSIVEMATCH)", '""', '"*"'),
        ("LIST", '""', '"*"', "RETURN", "(CHILDREN SUBSCRIBED)"),
        ("LIST", '""', '"*"', "RETURN", "(STATUS (MESSAGES))"),
        ("LIST", "(SPECIAL-USE)", '""', '"*"'),
        ("LIST", '""', '("Hidden" "Hidden/Sub" "Open")'),
        ("LSUB", '""', '"*"'), ("LSUB", '""', "Hidden"),
        ("XLIST", '""', '"*"'),
    ]
    for args in variants:
        names = listed(imap, *args[1:], name=args[0] if args[0] != "XLIST"
                       else "XLIST")
        text = "\n".join(names)
        assert "Hidden" not in text and "Proj/Deny" not in text and \
            "Solo/Deny" not in text, (args, names)
    everything = "\n".join(listed(imap, '""', '"*"'))
    assert "Open" in everything and "Proj/Open" in everything
    # a folder whose only children are hidden has none
    for args in (('""', '"*"'), ('""', "Solo"),
                 ('""', '"*"', "RETURN", "(CHILDREN)")):
        lines = {x.rsplit(" ", 1)[1].strip('"'): x
                 for x in listed(imap, *args)}
        assert "\\HasNoChildren" in lines["Solo"], (args, lines["Solo"])
        if "Proj" in lines:
            assert "\\HasChildren" in lines["Proj"], lines["Proj"]
        assert not any(x.startswith("Solo/") for x in lines), lines
    assert not imap.untagged_responses.get("STATUS") or \
        "Hidden" not in str(imap.untagged_responses.pop("STATUS"))
    imap.logout()
    # the admin still sees every folder
    names = doveadm_names(dc, "tot")
    assert "Hidden" in names and "Hidden/Sub" in names and \
        "Proj/Deny" in names and "Solo/Deny" in names


def test_notify_does_not_announce_a_deny_folder(dc):
    imap = session(dc, "tot")
    assert command(imap, "NOTIFY", "SET", "(PERSONAL (MailboxName "
                   "SubscriptionChange))")[0] == "OK"
    imap.untagged_responses.clear()
    r = dc.doveadm("mailbox", "create", "-u", "tot", "Hidden/New",
                   "Open/New")
    assert r.returncode == 0, r.stderr
    for _ in range(20):
        imap.noop()
        if "Open/New" in str(imap.untagged_responses.get("LIST")):
            break
    out = str(imap.untagged_responses.get("LIST"))
    assert "Open/New" in out and "Hidden" not in out, out
    imap.logout()


# -- 3. CREATE of a `deny` folder answers as for a name one may not create

def test_create_of_a_deny_folder_does_not_reveal_it(dc):
    for user in ("pw", "tot"):
        imap = session(dc, user)
        answers = set()
        for name in ("Hidden", "Hidden/Sub", "Hidden/Nowhere", "Proj/Deny",
                     "Alias/Hidden", "Hidden/Sub/x"):
            typ, text = command(imap, "CREATE", '"%s"' % name)
            assert typ == "NO", (user, name, text)
            answers.add(untimed(text))
        assert answers == {"[NOPERM] Permission denied."}, answers
        imap.logout()
    assert "Hidden/Nowhere" not in doveadm_names(dc, "tot")


def test_deny_folder_answers_like_no_folder(dc):
    imap = session(dc, "pw")
    msg = b"Subject: x\r\n\r\nx\r\n"
    tries = [
        lambda b: imap.select(b), lambda b: imap.select(b, readonly=True),
        lambda b: imap.status(b, "(MESSAGES)"),
        lambda b: imap.append(b, None, None, msg),
        lambda b: imap.delete(b), lambda b: imap.rename(b, "Elsewhere"),
        lambda b: imap.subscribe(b),
    ]
    for i, run in enumerate(tries):
        answers = []
        for box in ("Hidden", "Nowhere"):
            try:
                typ, data = run(box)
            except imaplib.IMAP4.error as e:
                typ, data = "NO", [str(e).encode()]
            text = b" ".join(x for x in data if isinstance(x, bytes))
            answers.append((typ, untimed(text.decode()).replace(box, "X")))
        assert answers[0] == answers[1], (i, answers)
    assert imap.select("INBOX")[0] == "OK"
    for box in ("Hidden", "Nowhere"):
        typ, text = command(imap, "COPY", "1", box)
        assert typ == "NO" and "[TRYCREATE]" in text, text
    imap.logout()


# -- 6. audit lines that no line reader splits

def audit_raw(dc):
    with open(dc.fmt("{t}/log/audit.jsonl"), "rb") as f:
        return f.read()


def audit_records(dc):
    return [json.loads(line) for line in audit_raw(dc).splitlines()]


def test_audit_log_escapes_line_separators(dc):
    imap = session(dc, "tot")
    # U+2028, U+2029, U+0085 in modified UTF-7
    for name in ("Secret/a&ICg-b", "Secret/c&ICk-d", "Secret/e&AIU-f"):
        typ, text = command(imap, "CREATE", '"%s"' % name)
        assert typ == "OK", (name, text)
    imap.logout()
    raw = audit_raw(dc)
    for sep in ("\u2028", "\u2029", "\u0085"):
        assert sep.encode() not in raw
    raw.decode("ascii")         # the log has only ASCII (or plain UTF-8)
    names = {r["mailbox"] for r in audit_records(dc)}
    assert {"Secret/a\u2028b", "Secret/c\u2029d", "Secret/e\u0085f"} <= names
    # every record is one line to a line reader that splits on them too
    assert len(raw.decode().splitlines()) == len(raw.split(b"\n")) - 1


# -- 4 and 5. reads over a fetch_limit: NO [LIMIT], never a crash, the
# session goes on

LIMIT = "[LIMIT] Too many messages read from protected folders in a " \
    "short time: try again later."


def bodies(data):
    return [x[1] for x in data if isinstance(x, tuple)]


def test_fetch_over_the_limit_answers_limit_and_the_session_goes_on(dc):
    imap = session(dc, "tot")
    assert imap.select("Bulk")[0] == "OK"
    typ, data = imap.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK" and MARKER in bodies(data)[0]
    assert imap.fetch("2", "(BODY.PEEK[TEXT])")[0] == "OK"
    # the third body: over the limit of 2
    for _ in range(3):          # asked again: the same answer, no BYE
        typ, text = command(imap, "FETCH", "3", "(BODY.PEEK[])")
        assert typ == "NO" and untimed(text) == LIMIT, text
        assert MARKER not in text.encode()
        assert imap.noop()[0] == "OK"
    # a range: the bodies counted before come, then NO [LIMIT]
    imap.untagged_responses.pop("FETCH", None)
    typ, text = command(imap, "FETCH", "1:4", "(BODY.PEEK[])")
    assert typ == "NO" and untimed(text) == LIMIT
    fetched = imap.untagged_responses.pop("FETCH", [])
    assert len([x for x in fetched if isinstance(x, tuple)]) == 2, fetched
    # what is not a body still comes
    typ, data = imap.fetch("1:6", "(FLAGS UID BODY.PEEK[HEADER])")
    assert typ == "OK" and len(bodies(data)) == 6
    # other folders are not affected
    assert imap.select("Open")[0] == "OK"
    typ, data = imap.fetch("1", "(BODY[])")
    assert typ == "OK" and MARKER in bodies(data)[0]
    imap.logout()
    assert dc.wait_log("stepup: fetch_limit of rule 'bulk' reached")


def uidvalidity(imap, box):
    typ, data = imap.status(box, "(UIDVALIDITY)")
    assert typ == "OK"
    return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))


def genurlauth(dc, imap, uid, box="Bulk"):
    rump = "imap://tot@127.0.0.1/%s;UIDVALIDITY=%d/;UID=%d;" \
        "urlauth=user+tot" % (box, uidvalidity(imap, box), uid)
    imap.untagged_responses.pop("GENURLAUTH", None)
    typ, text = command(imap, "GENURLAUTH", '"%s"' % rump, "INTERNAL")
    assert typ == "OK", text
    [url] = imap.untagged_responses.pop("GENURLAUTH")
    return url.decode().strip('"')


def used_up(dc):
    """The user's fetch_limit of rule bulk, used up (bodies 1 and 2
    counted in this module's first fetch_limit test)."""
    imap = session(dc, "tot")
    imap.select("Bulk")
    command(imap, "FETCH", "1:6", "(BODY.PEEK[])")
    return imap


def test_urlfetch_over_the_limit_is_refused_without_a_crash(dc):
    imap = used_up(dc)
    urls = [genurlauth(dc, imap, uid) for uid in (1, 5)]
    open_url = genurlauth(dc, imap, 1, "Open")
    mark = dc.log_mark()
    for selected in ("Bulk", "Open", None):
        if selected:
            assert imap.select(selected)[0] == "OK"
        else:
            imap.unselect() if imap.state == "SELECTED" else None
        for args in ('"%s"' % urls[1], '("%s" BODY)' % urls[1],
                     '("%s" BINARY)' % urls[1],
                     '("%s" BODYPARTSTRUCTURE)' % urls[1],
                     '("%s" BODYPARTSTRUCTURE BODY)' % urls[1],
                     '"%s" "%s"' % (urls[0], urls[1])):
            imap.untagged_responses.pop("URLFETCH", None)
            typ, text = command(imap, "URLFETCH", args)
            assert typ == "NO" and untimed(text) == LIMIT, (args, text)
            assert MARKER not in str(imap.untagged_responses.pop(
                "URLFETCH", "")).encode()
            assert imap.noop()[0] == "OK"
        # other folders' messages are read as ever
        imap.untagged_responses.pop("URLFETCH", None)
        typ, text = command(imap, "URLFETCH", '"%s"' % open_url)
        assert typ == "OK", text
        assert MARKER in str(imap.untagged_responses.pop("URLFETCH")).encode()
    imap.logout()
    log = dc.log_since(mark)
    assert "Panic" not in log and "assertion failed" not in log


def test_catenate_and_search_over_the_limit(dc):
    imap = used_up(dc)
    v = uidvalidity(imap, "Bulk")
    before = imap.status("Open", "(MESSAGES)")[1]
    typ, text = command(imap, "APPEND", "Open", "CATENATE",
                        '(URL "/Bulk;UIDVALIDITY=%d/;UID=6")' % v)
    assert typ == "NO" and untimed(text) == LIMIT, text
    assert imap.status("Open", "(MESSAGES)")[1] == before
    assert imap.noop()[0] == "OK"
    assert imap.select("Bulk")[0] == "OK"
    typ, text = command(imap, "SEARCH", "BODY", "marker")
    assert typ == "NO" and untimed(text) == LIMIT, text
    assert imap.noop()[0] == "OK"
    imap.logout()


FETCH_ITEMS = [
    "BODY[]", "BODY.PEEK[]", "BODY[TEXT]", "BODY.PEEK[TEXT]",
    "BODY[HEADER]", "BODY[1]", "BODY[1.MIME]", "BODY[2]", "BODY[1.TEXT]",
    "BODY[]<0.10>", "BODY.PEEK[TEXT]<5.20>", "BODY[2.MIME]",
    "BODY.PEEK[HEADER.FIELDS (SUBJECT)]",
    "BODY[HEADER.FIELDS.NOT (SUBJECT)]", "RFC822", "RFC822.TEXT",
    "RFC822.HEADER", "RFC822.SIZE", "BINARY[1]", "BINARY.PEEK[2]",
    "BINARY.SIZE[2]", "BINARY[]", "BINARY.PEEK[1]<0.4>", "BODYSTRUCTURE",
    "BODY", "ENVELOPE", "FLAGS", "INTERNALDATE", "UID", "MODSEQ",
    "X-MAILBOX", "X-REAL-UID", "X-SAVEDATE", "X-GUID", "SNIPPET",
]
FETCH_MACROS = ["ALL", "FAST", "FULL"]


def test_every_fetch_item_over_the_limit(dc):
    """Every FETCH item, alone and in random sets, on messages counted
    and not counted: OK or NO [LIMIT], never a body that was not counted,
    never a BYE, the session usable after each."""
    imap = used_up(dc)
    assert imap.select("Bulk")[0] == "OK"
    rng = random.Random(16)
    sets = [[item] for item in FETCH_ITEMS]
    sets += [rng.sample(FETCH_ITEMS, rng.randint(2, 6)) for _ in range(60)]
    for items in sets + FETCH_MACROS:
        for seqs in ("1", "5", "1:6", "*"):
            for uid in (False, True):
                imap.untagged_responses.pop("FETCH", None)
                args = (seqs, items if items in FETCH_MACROS else
                        "(%s)" % " ".join(items))
                if uid:
                    typ, data = imap.uid("FETCH", *args)
                    text = str(data[-1]) if typ != "OK" else ""
                    text = text[2:-1] if text.startswith("b'") else text
                else:
                    typ, text = command(imap, "FETCH", *args)
                out = imap.untagged_responses.pop("FETCH", [])
                assert typ == "OK" or (typ == "NO" and
                                       untimed(text) == LIMIT), \
                    (items, seqs, uid, text)
                # only the bodies counted before (1 and 2) are sent
                seq = None
                for x in out:
                    head = x[0] if isinstance(x, tuple) else x
                    if head[:1].isdigit():
                        seq = int(head.split()[0])
                    if isinstance(x, tuple) and MARKER in x[1]:
                        assert seq in (1, 2), (items, seqs, x[0])
        assert imap.noop()[0] == "OK", items
    imap.logout()


# -- 7. a connection to the audit service speaks for one session

def test_audit_service_binds_a_connection_to_its_session(dc):
    from test_folders import audit_service_request, audit_token
    rec = "open\t%s\t%s\timap\t::1\tSecret\tsecret\tallow\tforged\ttotp\n"
    fetch = ("fetch\t%s\t%s\timap\t::1\tBulk\tbulk\t\t\ttotp\t1000\t60\t1\n")
    count = len(audit_records(dc))
    mark = dc.log_mark()
    pw = ("pw", "S1")
    # bound to pw's session: pw's records only
    assert audit_service_request(dc, (rec % pw).encode(), hello=pw) == b"+\n"
    assert audit_service_request(dc, (rec % ("tot", "S1")).encode(),
                                 hello=pw) == b""
    assert audit_service_request(dc, (rec % ("pw", "S2")).encode(),
                                 hello=pw) == b""
    assert audit_service_request(dc, (fetch % ("tot", "S1")).encode(),
                                 hello=pw) == b""
    # a token made for another session or user, or none at all
    bad = audit_token(dc, "pw", "S2")
    assert audit_service_request(dc, (rec % pw).encode(), hello=pw,
                                 token=bad) == b""
    assert audit_service_request(dc, (rec % pw).encode(), hello=pw,
                                 token="0" * 64) == b""
    assert audit_service_request(dc, (rec % pw).encode()) == b""
    assert audit_service_request(dc, (fetch % pw).encode()) == b""
    # a second hello on a bound connection
    assert audit_service_request(dc, ("hello\tpw\tS1\t%s\n" % audit_token(
        dc, *pw)).encode(), hello=pw) == b""
    # doveadm has no login: its connections record admin access only
    admin = "open\ttot\t\tdoveadm\t\tSecret\tsecret\tallow\tadmin access: x\t\n"
    assert audit_service_request(dc, admin.encode()) == b"+\n"
    records = audit_records(dc)[count:]
    assert [(r["user"], r["service"]) for r in records] == \
        [("pw", "imap"), ("tot", "doveadm")], records
    log = dc.log_since(mark)
    assert "refused a request for user tot: another user than the " \
        "connection's (pw)" in log
    assert "another session than the connection's" in log
    assert "the audit token is not the passdb's" in log
    assert "no session bound to the connection" in log
    # real sessions are bound and recorded as before
    count = len(audit_records(dc))
    imap = session(dc, "tot")
    assert imap.select("Secret")[0] == "OK"
    imap.logout()
    imap = session(dc, "pw")
    assert imap.select("Secret")[0] == "NO"
    imap.logout()
    got = [(r["user"], r["decision"]) for r in audit_records(dc)[count:]
           if r["event"] == "open" and r["mailbox"] == "Secret"]
    assert got == [("tot", "allow"), ("pw", "deny")], got
    assert "stepup: audit:" not in dc.log_since(mark)


# -- 8. full-text search: the indexer builds every folder's index, a text
# search in a folder with a fetch_limit counts like reading the messages

FTS_POLICY = """\
version = 1;
totp = { issuer = "Test"; window = 1; reconnect = "1h";
         reconnect_idle = "1h"; };
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
login = (
  { name = "pw"; users = [ "pw" ]; require = "password"; },
  { name = "default"; require = "totp"; }
);
folders = (
  { name = "secret"; mailbox = "Secret"; require = "totp"; },
  { name = "bulk"; mailbox = "Bulk"; require = "totp";
    fetch_limit = { messages = 2; window = "1h"; }; },
  { name = "rest"; mailbox = "*"; require = "none"; }
);
"""

# Dovecot 2.3: lucene (dovecot-lucene); 2.4 has flatcurve instead
# (dovecot-flatcurve)
FTS_EXTRA = by_version("""\
protocol indexer-worker {
  mail_plugins = $mail_plugins fts fts_lucene
}
protocol imap {
  mail_plugins = $mail_plugins fts fts_lucene
}
plugin {
  fts = lucene
  fts_lucene = whitespace_chars=@.
}
""", """\
protocol indexer-worker {
  mail_plugins {
    fts = yes
    fts_flatcurve = yes
  }
}
protocol imap {
  mail_plugins {
    fts = yes
    fts_flatcurve = yes
  }
}
fts flatcurve {
}
# the subject "s" is one letter
fts_flatcurve_min_term_size = 1
language en {
  default = yes
}
language_tokenizers = generic email-address
""")
FTS_PLUGIN = by_version("lib21_fts_lucene_plugin.so",
                        "lib21_fts_flatcurve_plugin.so")
FTS_INDEXES = by_version("lucene-indexes/*", ".*/fts-flatcurve")


@pytest.fixture(scope="module")
def dc_fts(dovecot_factory):
    dc = dovecot_factory(name="probe-fts", users={"pw": "pwpw",
                                                  "tot": "totpw"},
                         policy=FTS_POLICY, extra=FTS_EXTRA)
    # Dovecot's own FTS plugins (dovecot-core, dovecot-lucene: fts-squat
    # of 2.3.19 crashes the imap process when it opens a folder), beside
    # the built ones
    for so in ("lib20_fts_plugin.so", FTS_PLUGIN):
        shutil.copy2(os.path.join("/usr/lib/dovecot/modules", so),
                     dc.fmt("{t}/plugins"))
    fill(dc, ("Secret", "Bulk", "Open"), ("Secret", "Open"))
    return dc


def test_indexer_builds_full_text_indexes_of_guarded_folders(dc_fts):
    dc = dc_fts
    mark = dc.log_mark()
    for box in ("Secret", "Bulk", "Open"):
        r = dc.doveadm("index", "-q", "-u", "tot", box)
        assert r.returncode == 0, r.stderr
    # the indexer-worker logs each folder it has indexed
    for box in ("Secret", "Bulk", "Open"):
        assert dc.wait_log("Mailbox %s: Indexed" % box, mark), \
            dc.log_since(mark)[-3000:]
    log = dc.log_since(mark)
    assert "stepup: open deny" not in log and "This folder" not in log
    assert not [r for r in audit_records(dc)
                if r["service"] == "indexer-worker"]
    assert glob.glob(dc.fmt("{t}/mail/tot/Maildir/" + FTS_INDEXES))


def test_full_text_search_is_guarded_like_a_read(dc_fts):
    dc = dc_fts
    count = len(audit_records(dc))
    imap = session(dc, "tot")
    # a guarded folder without a fetch_limit: searched as usual, from the
    # index (no message is opened to search it)
    assert imap.select("Secret")[0] == "OK"
    mark = dc.log_mark()
    assert imap.search(None, "BODY", "zebra")[0] == "OK"
    assert imap.noop()[0] == "OK"
    assert "Opened mail because" not in dc.log_since(mark)
    # a fetch_limit folder: what is not the text is not counted
    assert imap.select("Bulk")[0] == "OK"
    typ, data = imap.search(None, "SUBJECT", "s")
    assert typ == "OK" and data[0].split() == [b"%d" % i
                                               for i in range(1, 7)]
    # the text: each message it looks at counts as read (6 > 2)
    for args in (("BODY", "zebra"), ("TEXT", "zzzz"),
                 ("OR", "SUBJECT", "s", "BODY", "zebra")):
        typ, text = command(imap, "SEARCH", *args)
        assert typ == "NO" and untimed(text) == LIMIT, (args, text)
        assert imap.noop()[0] == "OK"
    # the two counted in this session are read as usual
    typ, data = imap.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK" and MARKER in bodies(data)[0]
    imap.logout()
    [rec] = [r for r in audit_records(dc)[count:]
             if r["event"] == "fetch_limit"]
    assert rec["user"] == "tot" and rec["mailbox"] == "Bulk"
    # a password session still cannot reach the guarded folder's index
    imap = session(dc, "pw")
    assert imap.select("Secret")[0] == "NO"
    imap.logout()
