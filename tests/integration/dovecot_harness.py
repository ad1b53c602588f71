"""A real Dovecot on loopback with the modules from the build tree.

Each Dovecot instance lives in its own short temporary directory (UNIX socket
paths are limited to 108 bytes) with its own base_dir, ports, passwd-file,
maildirs, state directory and log. The auth module directory is fixed at
Dovecot's compile time, so the master runs in a private mount namespace in
which a staging copy of that directory, holding the freshly built
libauthdb_stepup.so, is bind-mounted over /usr/lib/dovecot/modules/auth;
nothing on the system changes. Mail plugins load from the instance's own
mail_plugin_dir.

The configuration is written for the Dovecot found: 2.3 (Debian 12) or 2.4
(Debian 13, where the plugin's settings are declared by
libstepup_settings.so, which the config process loads from
/usr/lib/dovecot/modules/settings: with 2.4 the module directory is
overlaid in a private mount namespace for the master and for every
doveconf and doveadm, see Dovecot.wrap()).
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

SYSTEM_MODULES = "/usr/lib/dovecot/modules"
SYSTEM_AUTH_MODULES = SYSTEM_MODULES + "/auth"
MAIL_UID = 65534  # nobody
MAIL_GID = 65534


def dovecot_version():
    """(major, minor) of the Dovecot on PATH: "2.4.1-4 (7d8c0e5759)"."""
    out = subprocess.run(["dovecot", "--version"], capture_output=True,
                         text=True, check=True).stdout.split()[0]
    major, minor = out.split(".")[:2]
    return int(major), int(minor)


VERSION = dovecot_version()
DOVECOT_24 = VERSION >= (2, 4)


def by_version(v23, v24):
    """Configuration text (or anything) for the Dovecot found."""
    return v24 if DOVECOT_24 else v23


def build_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "build")
    return os.path.abspath(os.environ.get("STEPUP_BUILD_DIR", default))


def built(name):
    """Path of a module or program built by libtool in the build tree."""
    for cand in (os.path.join(build_dir(), ".libs", name),
                 os.path.join(build_dir(), name)):
        if os.path.exists(cand):
            return cand
    raise FileNotFoundError("%s is not built in %s (run make)" %
                            (name, build_dir()))


def sanitizer_runtime():
    """libasan to preload into Dovecot when the modules are ASan builds
    (with libstdc++: ASan intercepts the exceptions of C++ plugins that
    Dovecot loads later, such as fts-lucene's, only when libstdc++ was
    there from the start)."""
    out = subprocess.run(["ldd", built("libauthdb_stepup.so")],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "libasan" in line and "=>" in line:
            asan = line.split("=>")[1].split()[0]
            cxx = subprocess.run(["gcc", "-print-file-name=libstdc++.so.6"],
                                 capture_output=True, text=True).stdout.strip()
            if os.path.isabs(cxx) and os.path.exists(cxx):
                return asan + ":" + cxx
            return asan
    return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The instance's own ports (both versions, also test_admin_guide.py).
LISTENERS = """\
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""

CONF_TEMPLATE_23 = """\
instance_name = {name}
base_dir = {t}/run
state_dir = {t}/dstate
log_path = {t}/log/dovecot.log
protocols = imap pop3
listen = 127.0.0.1, ::1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_debug = yes
mail_debug = yes
auth_failure_delay = 0
auth_cache_size = 1M
auth_cache_ttl = 1 hour
first_valid_uid = 100
default_vsz_limit = 0
import_environment = $import_environment LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS TZ
mail_location = maildir:~/Maildir
mail_plugin_dir = {t}/plugins
mail_plugins = $mail_plugins stepup
namespace inbox {{
  inbox = yes
  separator = /
}}
{passdbs}
userdb {{
  driver = passwd-file
  args = {t}/etc/passwd
}}
{listeners}
# Dovecot's per-IP auth penalty would slow every test after a failed
# login; the plugin's own per-account lockout is what the tests measure.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
plugin {{
  stepup_policy = {t}/etc/stepup.conf
}}
# the only writer of folder decisions to the audit log; mail processes
# (also doveadm's own) reach its socket through the internal group
mail_access_groups = $default_internal_group
service stepup-audit {{
  executable = {audit_service} {t}/etc/stepup.conf
  user = $default_internal_user
  process_limit = 1
  client_limit = 1000
  unix_listener stepup-audit {{
    mode = 0660
    group = $default_internal_group
  }}
}}
protocol imap {{
  mail_plugins = $mail_plugins imap_stepup
}}
{extra}
"""

# Dovecot 2.4: the same instance (see doc/admin-guide.md, "Dovecot 2.4").
CONF_TEMPLATE_24 = """\
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
instance_name = {name}
base_dir = {t}/run
state_dir = {t}/dstate
log_path = {t}/log/dovecot.log
protocols = imap pop3
listen = 127.0.0.1, ::1
ssl = no
auth_allow_cleartext = yes
auth_mechanisms = plain login
auth_verbose = yes
auth_debug = yes
mail_debug = yes
auth_failure_delay = 0
auth_cache_size = 1M
auth_cache_ttl = 1 hour
first_valid_uid = 100
default_vsz_limit = unlimited
import_environment {{
  LD_PRELOAD = %{{env:LD_PRELOAD}}
  ASAN_OPTIONS = %{{env:ASAN_OPTIONS}}
  UBSAN_OPTIONS = %{{env:UBSAN_OPTIONS}}
  TZ = %{{env:TZ}}
}}
mail_driver = maildir
mail_path = ~/Maildir
mail_plugin_dir = {t}/plugins
mail_plugins {{
  stepup = yes
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
stepup_policy = {t}/etc/stepup.conf
{passdbs}
userdb passwd-file {{
  passwd_file_path = {t}/etc/passwd
}}
{listeners}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
mail_access_groups = $SET:default_internal_group
service stepup-audit {{
  executable = {audit_service} {t}/etc/stepup.conf
  user = $SET:default_internal_user
  process_limit = 1
  client_limit = 1000
  unix_listener stepup-audit {{
    mode = 0660
    group = $SET:default_internal_group
  }}
}}
protocol imap {{
  mail_plugins {{
    imap_stepup = yes
  }}
}}
{extra}
"""

# The login chain of doc/admin-guide.md: stepup, passwd-file, stepup verify.
STEPUP_CHAIN_23 = """\
passdb {
  driver = stepup
  args = policy={t}/etc/stepup.conf
  result_failure = return-fail
  result_internalfail = return-fail
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN {t}/etc/passwd
  result_success = continue-ok
}
passdb {
  driver = stepup
  args = policy={t}/etc/stepup.conf stage=verify
  skip = never
  result_failure = return-fail
  result_internalfail = return-fail
}
"""

# Dovecot's LMTP on a socket in the instance's base_dir (Dovecot(lmtp=True),
# Dovecot.lmtp_socket): local delivery, as the stepup tool's notices use it.
LMTP_CONF = """
protocols = %s
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
""" % by_version("$protocols lmtp", "imap pop3 lmtp")

STEPUP_CHAIN_24 = """\
passdb stepup {
  result_failure = return-fail
  result_internalfail = return-fail
}
passdb passwd-file {
  passwd_file_path = {t}/etc/passwd
  result_success = continue-ok
}
passdb stepup_verify {
  driver = stepup
  stepup_stage = verify
  skip = never
  result_failure = return-fail
  result_internalfail = return-fail
}
"""

STEPUP_CHAIN = by_version(STEPUP_CHAIN_23, STEPUP_CHAIN_24)

DEFAULT_POLICY = """\
version = 1;
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
login = ( { name = "default"; require = "password"; } );
folders = ( { name = "rest"; mailbox = "*"; require = "none"; } );
"""


class Dovecot:
    """One Dovecot master; start() and stop() are idempotent."""

    def __init__(self, name="stepup-test", users=None, policy=None,
                 passdbs=None, extra="", root=None, imap_port=None,
                 pop3_port=None, detach=False, userdb_extra=None,
                 setup_hook=None, lmtp=False):
        self.name = name
        self.users = users or {"alice": "alicepw", "bob": "bobpw"}
        self.policy = policy if policy is not None else DEFAULT_POLICY
        self.passdbs = passdbs if passdbs is not None else STEPUP_CHAIN
        self.extra = extra + (LMTP_CONF if lmtp else "")
        self.lmtp = lmtp
        # extra passwd-file fields per user (e.g. a userdb forging facts)
        self.userdb_extra = userdb_extra or {}
        # called once the instance directory exists, before Dovecot
        # reads its configuration (files the configuration names)
        self.setup_hook = setup_hook
        self.proc = None
        self.t = None
        # fixed directory and ports (the demo); tests use fresh ones
        self.root = root
        self.fixed_ports = (imap_port, pop3_port)
        # keep running after this Python process exits (the demo)
        self.detach = detach

    # -- paths
    @property
    def conf(self):
        return os.path.join(self.t, "etc", "dovecot.conf")

    @property
    def log_path(self):
        return os.path.join(self.t, "log", "dovecot.log")

    @property
    def state_dir(self):
        return os.path.join(self.t, "state")

    @property
    def lmtp_socket(self):
        return os.path.join(self.t, "run", "lmtp")

    @property
    def policy_path(self):
        return os.path.join(self.t, "etc", "stepup.conf")

    def fmt(self, text):
        """Put the instance directory in place of {t}."""
        return text.replace("{t}", self.t)

    # -- setup
    def _write(self, rel, text, mode=0o644):
        path = os.path.join(self.t, rel)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def write_policy(self, text):
        """Replace the policy file (atomically, as an admin's editor may).
        Every instance signs session facts with its own key, readable by
        the mail processes (nobody)."""
        if "session = {" not in text:
            text += '\nsession = { key_file = "{t}/etc/session.key"; };\n'
        tmp = self.policy_path + ".new"
        with open(tmp, "w") as f:
            f.write(self.fmt(text))
        os.chmod(tmp, 0o644)
        os.rename(tmp, self.policy_path)

    def _setup(self):
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            os.makedirs(self.root)
            self.t = self.root
        else:
            self.t = tempfile.mkdtemp(prefix="su-", dir="/tmp")
        os.chmod(self.t, 0o755)
        for d in ("etc", "run", "dstate", "log", "mail", "plugins",
                  "authmods", "bin"):
            os.mkdir(os.path.join(self.t, d))
        os.chmod(os.path.join(self.t, "log"), 0o777)
        dovecot = pwd.getpwnam("dovecot")
        os.mkdir(self.state_dir, 0o700)
        os.chown(self.state_dir, dovecot.pw_uid, dovecot.pw_gid)

        lines = []
        for user, pw in self.users.items():
            home = os.path.join(self.t, "mail", user)
            os.mkdir(home)
            os.chown(home, MAIL_UID, MAIL_GID)
            lines.append("%s:{PLAIN}%s:%d:%d::%s::%s" %
                         (user, pw, MAIL_UID, MAIL_GID, home,
                          self.userdb_extra.get(user, "")))
        self._write("etc/passwd", "\n".join(lines) + "\n")
        with open(os.path.join(self.t, "etc", "session.key"), "wb") as f:
            f.write(os.urandom(32))
        os.chmod(os.path.join(self.t, "etc", "session.key"), 0o644)
        self.write_policy(self.policy)

        # Copies, not links: the bind mount would hide the links' targets.
        for so in glob.glob(os.path.join(SYSTEM_AUTH_MODULES, "*.so")):
            shutil.copy2(so, os.path.join(self.t, "authmods"))
        shutil.copy2(built("libauthdb_stepup.so"),
                     os.path.join(self.t, "authmods"))
        for so in ("lib90_stepup_plugin.so", "lib95_imap_stepup_plugin.so"):
            shutil.copy2(built(so), os.path.join(self.t, "plugins"))
        # the service runs as Dovecot's internal user, who may not reach
        # the build tree (a checkout in a 0700 home)
        audit_service = os.path.join(self.t, "bin", "stepup-audit")
        shutil.copy2(built("stepup-audit"), audit_service)
        if DOVECOT_24:
            # laid over the system's module directory (wrap())
            over = os.path.join(self.t, "modules")
            os.makedirs(os.path.join(over, "auth"))
            os.makedirs(os.path.join(over, "settings"))
            shutil.copy2(built("libauthdb_stepup.so"),
                         os.path.join(over, "auth"))
            shutil.copy2(built("libstepup_settings.so"),
                         os.path.join(over, "settings"))

        self.imap_port = self.fixed_ports[0] or free_port()
        self.pop3_port = self.fixed_ports[1] or free_port()
        template = by_version(CONF_TEMPLATE_23, CONF_TEMPLATE_24)
        self._write("etc/dovecot.conf", template.format(
            name=self.name + os.path.basename(self.t), t=self.t,
            listeners=self.listeners(),
            audit_service=audit_service,
            passdbs=self.fmt(self.passdbs), extra=self.fmt(self.extra)))
        if self.setup_hook is not None:
            self.setup_hook(self)

    def listeners(self):
        return LISTENERS.format(imap_port=self.imap_port,
                                pop3_port=self.pop3_port)

    def wrap(self, argv):
        """argv as a Dovecot program must run to see the freshly built
        modules: with 2.4 in a private mount namespace in which this
        instance's modules/ is laid over the system's module directory
        (the config process loads the settings module from there)."""
        if not DOVECOT_24:
            return list(argv)
        script = ("mount -t overlay overlay -o lowerdir=%s:%s %s && "
                  'exec "$@"' % (os.path.join(self.t, "modules"),
                                 SYSTEM_MODULES, SYSTEM_MODULES))
        return ["unshare", "-m", "--propagation", "private", "sh", "-c",
                script, "sh"] + list(argv)

    def doveconf(self, *args):
        return subprocess.run(self.wrap(["doveconf", "-c", self.conf] +
                                        list(args)),
                              capture_output=True, text=True, timeout=60,
                              env=self.client_env())

    def start(self):
        if self.proc is not None:
            return self
        self._setup()
        check = self.doveconf("-n")
        if check.returncode != 0:
            raise RuntimeError("doveconf rejected the test config:\n" +
                               check.stderr)
        env = ""
        asan = sanitizer_runtime()
        if asan:
            logs = os.path.join(self.t, "log")
            env = ("env LD_PRELOAD=%s ASAN_OPTIONS=log_path=%s/asan:"
                   "detect_leaks=0:abort_on_error=0 "
                   "UBSAN_OPTIONS=log_path=%s/ubsan:print_stacktrace=1 " %
                   (asan, logs, logs))
        if DOVECOT_24:
            argv = self.wrap(["sh", "-c", "exec %sdovecot -F -c %s" %
                              (env, self.conf)])
        else:
            script = ("mount --bind %s %s && exec %sdovecot -F -c %s" %
                      (os.path.join(self.t, "authmods"),
                       SYSTEM_AUTH_MODULES, env, self.conf))
            argv = ["unshare", "-m", "--propagation", "private", "sh",
                    "-c", script]
        self.master_out = open(os.path.join(self.t, "log", "master.out"),
                               "w")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self.master_out,
            stderr=subprocess.STDOUT, start_new_session=self.detach)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dovecot exited at start:\n" +
                                   self.log_tail())
            if self._listening(self.imap_port) and \
               self._listening(self.pop3_port) and \
               os.path.exists(os.path.join(self.t, "run", "auth-client")) \
               and (not self.lmtp or os.path.exists(self.lmtp_socket)):
                return self
            time.sleep(0.05)
        raise RuntimeError("dovecot did not start:\n" + self.log_tail())

    @staticmethod
    def _listening(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self):
        if self.proc is None:
            return
        subprocess.run(self.wrap(["doveadm", "-c", self.conf, "stop"]),
                       capture_output=True)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self.master_out.close()

    def cleanup(self):
        self.stop()
        if self.t and os.environ.get("STEPUP_KEEP_TMP") != "1":
            shutil.rmtree(self.t, ignore_errors=True)

    # -- inspection
    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_mark(self):
        """An offset into the log: pass to log_since() to see only what a
        test's own actions logged."""
        return len(self.log())

    def log_since(self, mark):
        """The log after mark, once it has settled: Dovecot's processes log
        through the log service, so lines may land a moment after the
        client saw the reply. Waits for 0.1 s without growth (3 s at most)."""
        text = self.log()
        deadline = time.time() + 3
        while time.time() < deadline:
            time.sleep(0.1)
            again = self.log()
            if len(again) == len(text):
                break
            text = again
        return text[mark:]

    def wait_log(self, text, mark=0, timeout=10):
        """Whether text appears in the log after mark within timeout
        seconds: a process may log after its client saw the result."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.log()[mark:]:
                return True
            time.sleep(0.05)
        return False

    def log_tail(self, n=40):
        text = self.log()
        out = os.path.join(self.t, "log", "master.out")
        if os.path.exists(out):
            with open(out, errors="replace") as f:
                text += f.read()
        return "\n".join(text.splitlines()[-n:])

    def sanitizer_reports(self):
        """Every ASan/UBSan report and every crash Dovecot logged."""
        found = []
        for path in glob.glob(os.path.join(self.t, "log", "asan.*")) + \
                glob.glob(os.path.join(self.t, "log", "ubsan.*")):
            with open(path, errors="replace") as f:
                found.append("%s:\n%s" % (path, f.read()))
        for line in self.log().splitlines():
            if "Panic:" in line or "returned error 1" in line or \
               "killed with signal" in line:
                found.append(line)
        return found

    # -- clients
    def client_env(self):
        """Environment for Dovecot tools that load the ASan-built plugins
        (doveadm runs mail plugins in its own process)."""
        env = dict(os.environ)
        asan = sanitizer_runtime()
        if asan:
            env["LD_PRELOAD"] = asan
            env["ASAN_OPTIONS"] = "detect_leaks=0"
        return env

    def doveadm(self, *args, check=False, input=None):
        return subprocess.run(self.wrap(["doveadm", "-c", self.conf] +
                                        list(args)), input=input,
                              capture_output=True, text=True, check=check,
                              timeout=60, env=self.client_env())

    def auth_test(self, user, password, service="imap", rip="127.0.0.1"):
        """doveadm auth test through the whole passdb chain."""
        return self.doveadm("auth", "test", "-x", "service=" + service,
                            "-x", "rip=" + rip, user, password)

    def auth_login(self, user, password, service="imap", rip="127.0.0.1"):
        """doveadm auth login: the passdb chain, then the userdb; prints
        the userdb fields the mail process would get."""
        return self.doveadm("auth", "login", "-x", "service=" + service,
                            "-x", "rip=" + rip, user, password)
