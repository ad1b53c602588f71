"""doc/admin-guide.md's whole configuration (the 2.3 one on Dovecot 2.3,
the 2.4 one on 2.4), pasted into a copy of the stock Debian configuration
(/etc/dovecot) as conf.d/99-stepup.conf, works: doveconf accepts it, a
user logs in over STARTTLS, the chain ran, a guarded folder is refused
and recorded. Also: doveconf shows the plugin's settings, and a misspelt
one is an error."""

import glob
import imaplib
import json
import os
import re
import shutil
import ssl
import subprocess

import pytest

from dovecot_harness import Dovecot, built, by_version

GUIDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                     "doc", "admin-guide.md")

POLICY = """\
version = 1;
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
login = ( { name = "default"; require = "password"; } );
folders = (
  { name = "secret"; mailbox = "Secret"; require = "totp"; },
  { name = "rest"; mailbox = "*"; require = "none"; }
);
"""

# Where this test's instance differs from a production server (its own
# directories, ports, maildirs and the build tree's modules): local.conf,
# read after conf.d/; and its own certificate in conf.d/10-ssl.conf.
LOCAL_23 = """\
instance_name = {name}
base_dir = {t}/run
state_dir = {t}/dstate
log_path = {t}/log/dovecot.log
listen = 127.0.0.1
mail_location = maildir:~/Maildir
mail_plugin_dir = {t}/plugins
first_valid_uid = 100
default_vsz_limit = 0
import_environment = $import_environment LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS
"""
LOCAL_24 = """\
instance_name = {name}
base_dir = {t}/run
state_dir = {t}/dstate
log_path = {t}/log/dovecot.log
listen = 127.0.0.1
mail_driver = maildir
mail_path = ~/Maildir
mail_inbox_path =
mail_home = {t}/mail/%{{user}}
mail_plugin_dir = {t}/plugins
first_valid_uid = 100
default_vsz_limit = unlimited
import_environment {{
  LD_PRELOAD = %{{env:LD_PRELOAD}}
  ASAN_OPTIONS = %{{env:ASAN_OPTIONS}}
  UBSAN_OPTIONS = %{{env:UBSAN_OPTIONS}}
}}
"""
def guide_configuration():
    """The indented block after "A test pastes exactly this into a stock
    Debian N" in the admin guide, for the Dovecot found."""
    with open(GUIDE) as f:
        text = f.read()
    marker = by_version("into a stock Debian 12", "into a stock Debian 13")
    assert marker in text, "the admin guide lost its %s block" % marker
    lines = text[text.index(marker):].splitlines()[1:]
    block = []
    for line in lines:
        if line.startswith("    ") or (block and line == ""):
            block.append(line[4:])
        elif block:
            break
    assert block, "no configuration after " + marker
    return "\n".join(block).strip() + "\n"


class StockDovecot(Dovecot):
    """The stock /etc/dovecot plus the guide's file (changed by edit, if
    given) and local.conf."""

    def __init__(self, edit=None, **kwargs):
        super().__init__(**kwargs)
        self.edit = edit

    @property
    def conf(self):
        return os.path.join(self.t, "etc", "stock", "dovecot.conf")

    def _setup(self):
        super()._setup()
        stock = os.path.join(self.t, "etc", "stock")
        shutil.copytree("/etc/dovecot", stock, symlinks=True)
        auth = os.path.join(stock, "conf.d", "10-auth.conf")
        with open(auth) as f:
            text = f.read()
        # what the guide says to do
        assert "\n!include auth-system.conf.ext" in text
        with open(auth, "w") as f:
            f.write(text.replace("\n!include auth-system.conf.ext",
                                 "\n#!include auth-system.conf.ext"))
        # this instance's own certificate in place of the system's
        ssl_conf = os.path.join(stock, "conf.d", "10-ssl.conf")
        with open(ssl_conf) as f:
            text = f.read()
        with open(ssl_conf, "w") as f:
            f.write(text.replace(
                "/etc/dovecot/private/dovecot.pem",
                os.path.join(self.t, "etc", "cert.pem")).replace(
                "/etc/dovecot/private/dovecot.key",
                os.path.join(self.t, "etc", "key.pem")))
        guide = guide_configuration()
        if self.edit:
            guide = self.edit(guide)
        guide = guide.replace("/etc/dovecot/stepup.conf", self.policy_path)
        guide = guide.replace("/etc/dovecot/users",
                              os.path.join(self.t, "etc", "passwd"))
        guide = guide.replace("executable = stepup-audit ",
                              "executable = %s " % built("stepup-audit"))
        with open(os.path.join(stock, "conf.d", "99-stepup.conf"), "w") as f:
            f.write(guide)
        # the stock configuration may load Dovecot's own mail plugins
        # (the FTS package's 90-fts.conf): beside the built ones
        for so in glob.glob("/usr/lib/dovecot/modules/*.so"):
            dest = os.path.join(self.t, "plugins", os.path.basename(so))
            if not os.path.exists(dest):
                shutil.copy2(so, dest)
        local = by_version(LOCAL_23, LOCAL_24).format(
            name="guide" + os.path.basename(self.t), t=self.t)
        with open(os.path.join(stock, "local.conf"), "w") as f:
            f.write(local + self.listeners())
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-subj", "/CN=localhost", "-days", "2",
                        "-keyout", os.path.join(self.t, "etc", "key.pem"),
                        "-out", os.path.join(self.t, "etc", "cert.pem")],
                       check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def guide(dovecot_factory):
    return dovecot_factory(cls=StockDovecot, name="guide",
                           users={"ann": "annpw"}, policy=POLICY)


def test_guide_configuration_works_in_a_stock_dovecot(guide):
    r = guide.doveadm("mailbox", "create", "-u", "ann", "Secret")
    assert r.returncode == 0, r.stderr
    mark = guide.log_mark()
    imap = imaplib.IMAP4("127.0.0.1", guide.imap_port, timeout=10)
    try:
        # (Dovecot counts loopback as secured even without TLS: the
        # login goes over STARTTLS as a client's would)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        imap.starttls(ssl_context=ctx)
        imap.login("ann", "annpw")
        assert imap.select("INBOX")[0] == "OK"
        typ, data = imap.select("Secret")
        assert typ == "NO" and b"two-step login" in data[0]
    finally:
        imap.logout()
    assert "open deny (rule=secret" in guide.log_since(mark)
    with open(guide.fmt("{t}/log/audit.jsonl")) as f:
        records = [json.loads(line) for line in f]
    # both stages ran: the login was recorded as allowed after stage 2
    assert any(x["event"] == "login" and x["user"] == "ann" and
               x["decision"] == "allow" for x in records), records
    assert any(x.get("mailbox") == "Secret" and x["decision"] == "deny"
               for x in records), records


def test_doveconf_shows_the_plugin_settings(guide):
    r = guide.doveconf("-n")
    assert r.returncode == 0, r.stderr
    assert re.search(r"stepup_policy = %s" % re.escape(guide.policy_path),
                     r.stdout), r.stdout
    if by_version(False, True):
        # the settings module declared it: doveconf knows its default
        r = guide.doveconf("-a")
        assert "stepup_audit_socket = stepup-audit" in r.stdout, r.stderr


def test_misspelt_setting_is_an_error(guide):
    """A misspelt stepup setting stops Dovecot instead of being ignored:
    2.4's doveconf refuses it (the settings module declares the names);
    with 2.3 the passdb refuses an unknown args key."""
    conf = os.path.join(guide.t, "etc", "stock", "conf.d", "99-stepup.conf")
    with open(conf) as f:
        good = f.read()
    if by_version(False, True):
        for typo, error in (("stepup_polcy = /x", "stepup_polcy"),
                            ("stepup_policy = relative",
                             "must be an absolute path"),
                            ("protocol imap {\n stepup_stage = verfy\n}",
                             "verfy")):
            with open(conf, "w") as f:
                f.write(good + typo + "\n")
            r = guide.doveconf("-n")
            assert r.returncode != 0, typo
            assert error in r.stderr, r.stderr
    else:
        inst = StockDovecot(name="typo", users={"ann": "annpw"},
                            policy=POLICY, edit=lambda text: text.replace(
                                "args = policy=", "args = polcy=", 1))
        try:
            inst.start()
            assert inst.auth_test("ann", "annpw").returncode != 0
            assert inst.wait_log("Unknown parameter: polcy"), \
                inst.log_tail()
        finally:
            inst.cleanup()
    with open(conf, "w") as f:
        f.write(good)
    assert guide.doveconf("-n").returncode == 0
