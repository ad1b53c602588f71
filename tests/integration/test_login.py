"""Login enforcement against a real Dovecot: the two-stage stepup passdb
around passwd-file, driven by doveadm, imaplib and poplib, with codes from
an independent TOTP implementation (pyotp)."""

import imaplib
import json
import os
import poplib
import socket
import subprocess
import time

import pyotp
import pytest

from dovecot_harness import built, by_version

POLICY = """\
version = 1;
mode = "MODE";
totp = { issuer = "Test"; digits = 6; period = 30; window = 1;
         max_failures = 3; lockout = "3s"; };
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
groups = { cabinet = [ "carol" ]; };
networks = { office = [ "10.0.0.0/8", "127.0.0.2/32" ]; v6 = [ "::1/128" ]; };
login = (
  { name = "cabinet"; users = [ "@cabinet" ]; require = "totp";
    app_passwords = false; },
  { name = "office"; networks = [ "office" ]; require = "password"; },
  { name = "v6"; users = [ "dave" ]; networks = [ "v6" ]; require = "deny"; },
  { name = "late"; users = [ "erin" ]; require = "totp";
    enroll_by = "2000-01-01"; },
  { name = "default"; require = "totp"; enroll_by = "2099-12-31"; }
);
folders = ( { name = "rest"; mailbox = "*"; require = "none"; } );
"""

USERS = {u: u + "pw" for u in ("alice", "bob", "carol", "dave", "erin",
                               "frank", "gail", "hugo", "ivan")}
# Each test that spends codes has its own enrolled user: with window = 1
# only the codes of this step and the next are usable (the enrollment used
# up the previous one).
ENROLLED = ("alice", "carol", "frank", "gail", "hugo", "ivan")


def stepup(dc, *args, stdin=None):
    return subprocess.run([built("stepup"), "--policy", dc.policy_path] +
                          list(args), input=stdin, capture_output=True,
                          text=True, timeout=60, env=dc.client_env())


def enroll(dc, user):
    """Enroll through the CLI's portal interface; returns the secret."""
    proc = subprocess.Popen(
        [built("stepup"), "--policy", dc.policy_path, "enroll", user,
         "--json"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=dc.client_env())
    first = json.loads(proc.stdout.readline())
    totp = pyotp.parse_uri(first["uri"])
    secret = totp.secret
    # confirm with the code of the previous step, so that the tests' own
    # codes (this step and the next) stay unused
    proc.stdin.write(totp.at(time.time() - totp.interval) + "\n")
    proc.stdin.flush()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    result = json.loads(out.strip().splitlines()[-1])
    return secret, result.get("recovery_codes", [])


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    inst = dovecot_factory(name="login", users=USERS,
                           policy=POLICY.replace("MODE", "enforce"))
    inst.secrets = {}
    inst.recovery = {}
    for user in ENROLLED:
        inst.secrets[user], inst.recovery[user] = enroll(inst, user)
    return inst


def code(secret, offset=0):
    return pyotp.TOTP(secret).at(time.time() + offset)


class SourceIMAP4(imaplib.IMAP4):
    """imaplib from a chosen loopback source address (127.0.0.2 ...)."""

    def __init__(self, port, source):
        self._source = source
        super().__init__("127.0.0.1", port, timeout=10)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._source, 0))


def imap_login(dc, user, password, source="127.0.0.1"):
    """Returns (ok, text, untagged ALERTs)."""
    imap = SourceIMAP4(dc.imap_port, source)
    try:
        typ, data = imap.login(user, password)
        alerts = [x.decode() for x in imap.untagged_responses.get("OK", [])
                  if b"[ALERT]" in x]
        imap.logout()
        return True, data[0].decode(), alerts
    except imaplib.IMAP4.error as e:
        imap.shutdown()
        return False, str(e), []


def auth(dc, user, password, rip="192.0.2.10", service="imap"):
    """The whole login (passdb chain and userdb) through doveadm; returns
    (ok, output with the userdb fields or the refusal reason)."""
    r = dc.auth_login(user, password, service=service, rip=rip)
    return r.returncode == 0, r.stdout + r.stderr


def test_password_only_refused_from_outside(dc):
    ok, out = auth(dc, "alice", "alicepw")
    assert not ok
    assert "needs a one-time code" in out


def test_password_only_accepted_from_office(dc):
    ok, out = auth(dc, "alice", "alicepw", rip="10.1.2.3")
    assert ok, out
    assert "stepup_level=password" in out


def test_password_plus_code_then_replay_then_next(dc):
    secret = dc.secrets["alice"]
    c = code(secret)
    ok, out = auth(dc, "alice", "alicepw" + c)
    assert ok, out
    assert "stepup_level=totp" in out
    # the same code again: refused as a replay, and said so (right password)
    ok, out = auth(dc, "alice", "alicepw" + c)
    assert not ok
    assert "already used" in out
    # the next step's code is accepted
    ok, out = auth(dc, "alice", "alicepw" + code(secret, 30))
    assert ok, out


def test_wrong_password_right_code_reveals_nothing(dc):
    secret = dc.secrets["frank"]
    ok, out = auth(dc, "frank", "wrongpw" + code(secret, 30))
    assert not ok
    assert "code" not in out.split("auth failed", 1)[1]
    # and the code was not consumed: it still works with the password
    ok, out = auth(dc, "frank", "frankpw" + code(secret, 30))
    assert ok, out


def test_right_password_wrong_code_says_so(dc):
    secret = dc.secrets["frank"]
    wrong = "%06d" % ((int(code(secret)) + 1) % 1000000)
    ok, out = auth(dc, "frank", "frankpw" + wrong)
    assert not ok
    assert "wrong or has expired" in out


def test_imap_and_pop3_with_code(dc):
    secret = dc.secrets["carol"]
    ok, text, _ = imap_login(dc, "carol", "carolpw" + code(secret))
    assert ok, text
    pop = poplib.POP3("127.0.0.1", dc.pop3_port)
    pop.user("carol")
    with pytest.raises(poplib.error_proto):
        # the same code over POP3: single use across protocols
        pop.pass_("carolpw" + code(secret))
    pop.close()
    pop = poplib.POP3("127.0.0.1", dc.pop3_port)
    pop.user("carol")
    pop.pass_("carolpw" + code(secret, 30))
    pop.quit()


def test_group_rule_ignores_office_network(dc):
    # carol is in @cabinet: totp even from the office
    ok, out = auth(dc, "carol", "carolpw", rip="10.1.2.3")
    assert not ok
    assert "needs a one-time code" in out


def test_imap_office_source_address(dc):
    ok, text, _ = imap_login(dc, "alice", "alicepw", source="127.0.0.2")
    assert ok, text
    ok, text, _ = imap_login(dc, "alice", "alicepw", source="127.0.0.1")
    assert not ok


def test_ipv6_client_rule(dc):
    ok, out = auth(dc, "dave", "davepw", rip="::1")
    assert not ok
    ok, out = auth(dc, "dave", "davepw", rip="10.9.9.9")
    assert ok, out


def test_grace_before_enroll_by(dc):
    ok, out = auth(dc, "bob", "bobpw")
    assert ok, out
    assert "stepup_enroll_by=2099-12-31" in out
    ok, text, alerts = imap_login(dc, "bob", "bobpw")
    assert ok, text
    assert any("2099-12-31" in a for a in alerts), alerts


def test_refused_after_enroll_by(dc):
    ok, out = auth(dc, "erin", "erinpw")
    assert not ok
    assert "enroll first" in out
    ok, out = auth(dc, "erin", "wrongpw")
    assert not ok
    assert "enroll" not in out.split("auth failed", 1)[1]


def test_audit_records_logins(dc):
    with open(dc.fmt("{t}/log/audit.jsonl")) as f:
        records = [json.loads(line) for line in f]
    assert any(r["event"] == "login" and r["user"] == "alice" and
               r["decision"] == "allow" and r["auth"] == "totp"
               for r in records)
    assert any(r["decision"] == "deny" and r["reason"] == "replayed code"
               for r in records)
    r = stepup(dc, "audit", "verify", dc.fmt("{t}/log/audit.jsonl"))
    assert r.returncode == 0, r.stdout + r.stderr
    for user, secret in dc.secrets.items():
        with open(dc.fmt("{t}/log/audit.jsonl")) as f:
            assert secret not in f.read()


def test_lockout_and_recovery(dc):
    secret = dc.secrets["gail"]
    good = code(secret)
    wrong = "%06d" % ((int(good) + 5) % 1000000)
    for _ in range(3):                      # max_failures = 3
        ok, out = auth(dc, "gail", "gailpw" + wrong)
        assert not ok and "wrong or has expired" in out
    ok, out = auth(dc, "gail", "gailpw" + good)
    assert not ok
    assert "Too many wrong codes" in out
    # a wrong password during the lockout learns nothing
    ok, out = auth(dc, "gail", "nope" + good)
    assert not ok and "Too many" not in out
    time.sleep(3.2)                         # lockout = "3s"
    ok, out = auth(dc, "gail", "gailpw" + code(secret, 30))
    assert ok, out


def test_wrong_codes_with_wrong_password_do_not_lock_out(dc):
    secret = dc.secrets["hugo"]
    for _ in range(5):
        ok, out = auth(dc, "hugo", "bad" + "000000")
        assert not ok
    r = stepup(dc, "status", "hugo", "--json")
    assert json.loads(r.stdout)["failures"] == 0
    ok, out = auth(dc, "hugo", "hugopw" + code(secret))
    assert ok, out


def test_recovery_code_works_once(dc):
    rc = dc.recovery["frank"][0]
    ok, out = auth(dc, "frank", "frankpw" + rc)
    assert ok, out
    assert "stepup_level=totp" in out
    ok, out = auth(dc, "frank", "frankpw" + rc)
    assert not ok
    r = stepup(dc, "status", "frank", "--json")
    assert json.loads(r.stdout)["recovery_codes_left"] == 9


def test_app_password_lifecycle(dc):
    r = stepup(dc, "app-password", "add", "alice", "--label", "phone",
               "--networks", "192.0.2.0/24", "--protocols", "imap", "--json")
    assert r.returncode == 0, r.stderr
    pw = json.loads(r.stdout)["password"]
    ok, out = auth(dc, "alice", pw, rip="192.0.2.77")
    assert ok, out
    assert "stepup_level=app" in out
    # outside its networks, or another protocol
    ok, out = auth(dc, "alice", pw, rip="198.51.100.1")
    assert not ok
    ok, out = auth(dc, "alice", pw, rip="192.0.2.77", service="pop3")
    assert not ok
    r = stepup(dc, "status", "alice", "--json")
    apps = json.loads(r.stdout)["app_passwords"]
    assert apps[0]["label"] == "phone"
    assert apps[0]["last_ip"] == "192.0.2.77"
    assert pw not in r.stdout
    # not allowed where the rule says app_passwords = false (cabinet)
    r = stepup(dc, "app-password", "add", "carol", "--label", "x", "--json")
    cpw = json.loads(r.stdout)["password"]
    ok, out = auth(dc, "carol", cpw)
    assert not ok
    # revoked: refused at once
    r = stepup(dc, "app-password", "revoke", "alice", "phone")
    assert r.returncode == 0, r.stderr
    ok, out = auth(dc, "alice", pw, rip="192.0.2.77")
    assert not ok


def test_auth_cache_never_replays_a_code(dc):
    # the harness runs with auth_cache_size = 1M
    assert "auth_cache_size = 1M" in open(dc.conf).read()
    secret = dc.secrets["ivan"]
    c = code(secret)
    ok, out = auth(dc, "ivan", "ivanpw" + c, rip="192.0.2.99")
    assert ok, out
    ok, out = auth(dc, "ivan", "ivanpw" + c, rip="192.0.2.99")
    assert not ok
    assert "already used" in out


def test_audit_mode_lets_through_and_logs(dovecot_factory):
    dc = dovecot_factory(name="audit", users=USERS,
                         policy=POLICY.replace("MODE", "audit"))
    mark = dc.log_mark()
    ok, out = auth(dc, "erin", "erinpw")       # after enroll_by
    assert ok, out
    ok, out = auth(dc, "dave", "davepw", rip="::1")   # deny rule
    assert ok, out
    ok, out = auth(dc, "dave", "wrong", rip="::1")    # still needs the password
    assert not ok
    log = dc.log_since(mark)
    assert "audit mode: enforce would deny: enrollment required" in log
    assert "audit mode: enforce would deny: rule 'v6' requires deny" in log


def test_wrong_password_leaks_no_event(dovecot_factory):
    """A wrong password (the verify stage runs with skip = never) leaves
    nothing behind in the auth process: Dovecot names every event still
    referenced when a process ends."""
    dc = dovecot_factory(name="login-leak", users=USERS,
                         policy=POLICY.replace("MODE", "enforce"))
    for _ in range(3):
        ok, out = auth(dc, "bob", "wrongpw")
        assert not ok
    dc.stop()
    leaks = [line for line in dc.log().splitlines()
             if "leaked (parent=" in line]
    assert leaks == []


def test_user_renamed_by_the_password_passdb_is_refused(dovecot_factory):
    """The passdb between the stages renames the login (passwd-file extra
    field user=): stage 1 decided for the typed name (password only), so
    stage 2 must not vouch for the other account, whose rule needs a
    code."""
    policy = POLICY.replace("MODE", "enforce").replace(
        'groups = { cabinet = [ "carol" ]; };',
        'groups = { cabinet = [ "carol", "boss" ]; };').replace(
        '{ name = "default"; require = "totp"; enroll_by = "2099-12-31"; }',
        '{ name = "default"; require = "password"; }')
    dc = dovecot_factory(name="login-rename",
                         users={"alias": "aliaspw", "boss": "bosspw"},
                         policy=policy,
                         userdb_extra={"alias": "user=boss"})
    ok, out = auth(dc, "boss", "bosspw")
    assert not ok
    ok, out = auth(dc, "alias", "aliaspw")
    assert not ok, out
    assert dc.wait_log("the user name changed between the stepup stages")


MASTER_PASSDB_23 = """\
passdb {
  driver = passwd-file
  args = scheme=PLAIN {t}/etc/master
  master = yes
  pass = PASS
}
"""
# 2.4 has no pass: result_success = continue is pass = yes
MASTER_PASSDB_24 = """\
passdb master {
  driver = passwd-file
  passwd_file_path = {t}/etc/master
  master = yes
PASS}
"""
MASTER_PASS_24 = {"yes": "  result_success = continue\n", "no": ""}


@pytest.mark.parametrize("pass_", ["no", "yes"])
def test_master_passdb_runs_the_stepup_stages_or_is_refused(
        dovecot_factory, pass_):
    """A master passdb with pass = no would end master logins before the
    stepup stages (no code, no rule, no record): the auth process refuses
    to start with it. With pass = yes the stages run for the target user."""
    from dovecot_harness import STEPUP_CHAIN

    def master_file(inst):
        with open(os.path.join(inst.t, "etc", "master"), "w") as f:
            f.write("admin:{PLAIN}adminpw\n")
    dc = dovecot_factory(
        name="login-master", users=USERS,
        policy=POLICY.replace("MODE", "enforce"),
        passdbs=by_version(MASTER_PASSDB_23.replace("PASS", pass_),
                           MASTER_PASSDB_24.replace(
                               "PASS", MASTER_PASS_24[pass_])) +
        STEPUP_CHAIN,
        setup_hook=master_file,
        extra="auth_master_user_separator = *\n"
              "service auth {\n  process_min_avail = 1\n}\n")
    ok, out = auth(dc, "carol*admin", "adminpw")
    assert not ok, out
    if pass_ == "no":
        assert dc.wait_log("is a master passdb with pass = no: master "
                           "logins would skip the stepup stages")
    else:
        # carol's rule (cabinet) needs a code and an enrollment: the
        # master password alone is refused, as for carol herself
        assert "enroll first" in out, out
    # (with 2.4 doctor's doveconf must see the settings module: wrap())
    r = subprocess.run(dc.wrap([built("stepup"), "--policy",
                                dc.policy_path, "doctor", "--dovecot-config",
                                dc.conf, "--json"]),
                       capture_output=True, text=True, timeout=60,
                       env=dc.client_env())
    checks = {c["check"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["master passdb"]["ok"] == (pass_ == "yes"), checks
    assert checks["passdb chain"]["ok"], checks["passdb chain"]
