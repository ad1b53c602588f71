/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "net.h"
#include "array.h"
#include "test-common.h"
#include "stepup-policy.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

#define BASE "version = 1;\n"
#define LOGIN_DEFAULT "login = ( { name = \"default\"; require = \"password\"; } );\n"

static struct stepup_policy *parse(const char *text, const char **error_r)
{
	struct stepup_policy *policy = NULL;

	if (stepup_policy_parse_buffer("p.conf", text, strlen(text), &policy,
				       error_r) < 0)
		return NULL;
	return policy;
}

struct bad_case {
	const char *text;
	const char *error;	/* expected substring */
};

/* Every text is refused with an error that says what is expected. */
static void test_bad_cases(const struct bad_case *tests, unsigned int count)
{
	struct stepup_policy *policy;
	const char *error;
	unsigned int i;

	for (i = 0; i < count; i++) {
		error = "";
		policy = parse(tests[i].text, &error);
		test_assert_idx(policy == NULL, i);
		if (strstr(error, tests[i].error) == NULL) {
			i_error("case %u: '%s' not in '%s'", i, tests[i].error,
				error);
			test_assert_idx(FALSE, i);
		}
		stepup_policy_unref(&policy);
	}
}

static void test_policy_bad(void)
{
	static const struct bad_case tests[] = {
		{ LOGIN_DEFAULT, "p.conf:1: version = 1; is missing" },
		{ "version = 2;\n" LOGIN_DEFAULT, "p.conf:1: version must be between 1 and 1" },
		{ BASE "colour = 1;\n" LOGIN_DEFAULT, "p.conf:2: unknown setting colour" },
		{ BASE "totp = { digits = 7; };\n" LOGIN_DEFAULT, "p.conf:2: totp.digits must be 6 or 8" },
		{ BASE "totp = { window = 3; };\n" LOGIN_DEFAULT, "p.conf:2: window must be between 0 and 2" },
		{ BASE "totp = { window = 1000000; };\n" LOGIN_DEFAULT, "p.conf:2: window must be between 0 and 2" },
		{ BASE "totp = { max_failures = 4294967596; };\n" LOGIN_DEFAULT, "p.conf:2: number 4294967596 is out of range" },
		{ BASE "totp = { max_failures = 2147483648; };\n" LOGIN_DEFAULT, "p.conf:2: number 2147483648 is out of range" },
		{ BASE "totp = { max_failures = 99999999999L; };\n" LOGIN_DEFAULT, "out of range" },
		{ BASE "totp = { max_failures = -1; };\n" LOGIN_DEFAULT, "max_failures must be between 1 and 100" },
		{ BASE "totp = { max_failures = \"5\"; };\n" LOGIN_DEFAULT, "max_failures must be an integer" },
		{ BASE "totp = { lockout = \"15x\"; };\n" LOGIN_DEFAULT, "bad duration '15x'" },
		{ BASE "totp = { issuer = \"a:b\"; };\n" LOGIN_DEFAULT, "must not contain ':'" },
		{ BASE "totp = { algorithm = \"MD5\"; };\n" LOGIN_DEFAULT, "totp.algorithm must be" },
		{ BASE "totp = { colour = 1; };\n" LOGIN_DEFAULT, "unknown setting totp.colour" },
		{ BASE "@include \".\"\n" LOGIN_DEFAULT, "p.conf:2: @include and other directives are not allowed" },
		{ BASE "mode = \"lenient\";\n" LOGIN_DEFAULT, "mode must be" },
		{ BASE "mode = \"audit\";\nmode = \"enforce\";\n" LOGIN_DEFAULT, "p.conf:3: duplicate setting name" },
		{ BASE "networks = { office = [ \"10.0.0.0/33\" ]; };\n" LOGIN_DEFAULT, "bad address or CIDR '10.0.0.0/33'" },
		{ BASE "login = ( { name = \"a\"; networks = [ \"nowhere\" ]; require = \"password\"; } );\n", "p.conf:2: unknown network 'nowhere'" },
		{ BASE "login = ( { name = \"a\"; users = [ \"@nobody\" ]; require = \"password\"; } );\n", "unknown group 'nobody'" },
		{ BASE "login = ( { name = \"a\"; require = \"maybe\"; } );\n", "require must be one of password, totp, deny" },
		{ BASE "login = ( { require = \"totp\"; } );\n", "login rule 1 has no name" },
		{ BASE "login = ( { name = \"a\"; } );\n", "login rule 'a' has no require" },
		{ BASE "login = ( { name = \"a\"; require = \"totp\"; }, { name = \"a\"; require = \"deny\"; } );\n", "duplicate login rule name 'a'" },
		{ BASE "login = ( { name = \"a\"; require = \"totp\"; enroll_by = \"2027-02-30\"; } );\n", "enroll_by must be a date" },
		{ BASE "login = ( { name = \"a\"; require = \"totp\"; hours = \"8-18\"; } );\n", "hours must be" },
		{ BASE "login = ( { name = \"a\"; require = \"totp\"; days = [ \"someday\" ]; } );\n", "unknown day 'someday'" },
		{ BASE "login = ( { name = \"a\"; require = \"totp\"; protocols = [ \"gopher\" ]; } );\n", "unknown protocol 'gopher'" },
		{ BASE LOGIN_DEFAULT "folders = ( { name = \"f\"; mailbox = \"Secret/\"; require = \"totp\"; } );\n", "bad mailbox pattern 'Secret/'" },
		{ BASE LOGIN_DEFAULT "folders = ( { name = \"f\"; mailbox = \"S\"; require = \"approval\"; } );\n", "requires an approval but there is no approval block" },
		{ BASE LOGIN_DEFAULT "folders = ( { name = \"f\"; require = \"totp\"; } );\n", "folder rule 'f' has no mailbox" },
		{ BASE "login = { name = \"a\"; };\n", "login must be a list of rules" },
		{ BASE "login = ( { name = \"a\"; require = \"totp\"; }\n", "p.conf:3: syntax error" },
	};

	test_begin("policy: bad policies refused with file:line");
	test_bad_cases(tests, N_ELEMENTS(tests));
	test_end();
}

static void test_policy_all_errors_at_once(void)
{
	const char *error;

	test_begin("policy: every error reported at once");
	test_assert(parse(BASE "totp = { digits = 7; window = 5; };\n"
			  "bogus = 1;\n"
			  "login = ( { name = \"a\"; require = \"x\"; } );\n",
			  &error) == NULL);
	test_assert(strstr(error, "p.conf:2: totp.digits") != NULL);
	test_assert(strstr(error, "p.conf:2: window") != NULL);
	test_assert(strstr(error, "p.conf:3: unknown setting bogus") != NULL);
	test_assert(strstr(error, "p.conf:4: require must be") != NULL);
	test_end();
}

static const char *spec_policy =
	"version = 1;\n"
	"mode = \"enforce\";\n"
	"totp = { issuer = \"Example Ministry\"; digits = 6; period = 30; window = 1;\n"
	"         max_failures = 10; lockout = \"15m\";\n"
	"         reconnect = \"8h\"; reconnect_idle = \"30m\"; };\n"
	"state = { path = \"/var/lib/dovecot/stepup\"; };\n"
	"groups   = { cabinet = [ \"alice@example.org\", \"bob@example.org\" ]; };\n"
	"networks = { internal = [ \"10.0.0.0/8\", \"fd00::/8\" ]; };\n"
	"approval = {\n"
	"  url = \"https://approvals.example.org/v1/requests\";\n"
	"  key_file = \"/etc/dovecot/stepup-approval.key\";\n"
	"  ca_file = \"/etc/dovecot/stepup-approval-ca.pem\";\n"
	"  timeout = \"5s\"; wait = \"30s\"; failmode = \"closed\";\n"
	"};\n"
	"audit = { path = \"/var/log/dovecot/stepup-audit.jsonl\"; };\n"
	"login = (\n"
	"  { name = \"cabinet\"; users = [ \"@cabinet\" ]; require = \"totp\"; app_passwords = false; },\n"
	"  { name = \"office\"; networks = [ \"internal\" ]; require = \"password\"; },\n"
	"  { name = \"default\"; require = \"totp\"; enroll_by = \"2027-01-31\"; }\n"
	");\n"
	"folders = (\n"
	"  { name = \"hr\"; mailbox = \"Confidentiel\"; require = \"approval\"; grant = \"15m\"; },\n"
	"  { name = \"direction\"; mailbox = \"Direction\"; require = \"totp\"; max_age = \"15m\";\n"
	"    fetch_limit = { messages = 200; window = \"10m\"; }; },\n"
	"  { name = \"cabinet-share\"; mailbox = \"shared/cabinet\"; require = \"totp_and_approval\"; },\n"
	"  { name = \"rest\"; mailbox = \"*\"; require = \"none\"; }\n"
	");\n";

static void test_policy_spec_example(void)
{
	struct stepup_policy *policy;
	const struct stepup_totp_settings *set;
	struct stepup_login_query q;
	struct stepup_login_decision d;
	struct ip_addr ip_out, ip_in, ip6_in;
	const char *error = NULL;

	test_begin("policy: the SPEC example loads and decides logins");
	policy = parse(spec_policy, &error);
	test_assert(policy != NULL);
	if (policy == NULL) {
		i_error("%s", error);
		test_end();
		return;
	}
	set = stepup_policy_get_totp(policy);
	test_assert_strcmp(set->issuer, "Example Ministry");
	test_assert(set->lockout_secs == 900 && set->reconnect_secs == 8 * 3600 &&
		    set->reconnect_idle_secs == 1800 && set->max_failures == 10);
	test_assert_strcmp(stepup_policy_get_state_path(policy),
			   "/var/lib/dovecot/stepup");
	test_assert(stepup_policy_get_approval(policy)->timeout_secs == 5);
	test_assert(!stepup_policy_is_audit_mode(policy));

	test_assert(net_addr2ip("192.0.2.1", &ip_out) == 0);
	test_assert(net_addr2ip("10.1.2.3", &ip_in) == 0);
	test_assert(net_addr2ip("fd00::1", &ip6_in) == 0);
	i_zero(&q);
	q.protocol = "imap";
	q.now = 1764000000; /* 2025-11-24 */

	q.user = "alice@example.org"; q.remote_ip = &ip_in;
	stepup_policy_login(policy, &q, &d);
	test_assert(d.require == STEPUP_LOGIN_TOTP);
	test_assert_strcmp(d.rule, "cabinet");
	test_assert(!d.app_passwords);

	q.user = "carol@example.org";
	stepup_policy_login(policy, &q, &d);
	test_assert(d.require == STEPUP_LOGIN_PASSWORD);
	test_assert_strcmp(d.rule, "office");
	q.remote_ip = &ip6_in;
	stepup_policy_login(policy, &q, &d);
	test_assert_strcmp(d.rule, "office");

	q.remote_ip = &ip_out;
	stepup_policy_login(policy, &q, &d);
	test_assert(d.require == STEPUP_LOGIN_TOTP);
	test_assert_strcmp(d.rule, "default");
	test_assert(d.grace && d.app_passwords);
	q.enrolled = TRUE;
	stepup_policy_login(policy, &q, &d);
	test_assert(!d.grace);
	q.enrolled = FALSE;
	q.now = 1801526400; /* 2027-02-01 */
	stepup_policy_login(policy, &q, &d);
	test_assert(!d.grace);
	q.remote_ip = NULL;
	stepup_policy_login(policy, &q, &d);
	test_assert_strcmp(d.rule, "default");

	stepup_policy_unref(&policy);
	test_end();
}

static void test_policy_folders(void)
{
	struct stepup_policy *policy;
	struct stepup_folder_query q;
	struct stepup_folder_decision d;
	const char *error;

	test_begin("policy: folder decisions");
	policy = parse(spec_policy, &error);
	i_zero(&q);
	q.user = "alice@example.org";
	q.protocol = "imap";
	q.now = 1764000000;
	q.level = STEPUP_AUTH_PASSWORD;

	q.mailbox = "Direction";
	stepup_policy_folder(policy, &q, &d);
	test_assert(d.require == STEPUP_FOLDER_TOTP && !d.allow);
	test_assert_strcmp(d.rule, "direction");
	test_assert(d.fetch_limit_messages == 200 && d.max_age_secs == 900);

	q.mailbox = "Direction/2026/Q1";	/* subfolders covered */
	stepup_policy_folder(policy, &q, &d);
	test_assert_strcmp(d.rule, "direction");
	q.mailbox = "Directions";		/* not a subfolder */
	stepup_policy_folder(policy, &q, &d);
	test_assert_strcmp(d.rule, "rest");
	test_assert(d.allow);

	q.mailbox = "Direction";
	q.level = STEPUP_AUTH_TOTP;
	q.mfa_time = q.now - 60;
	stepup_policy_folder(policy, &q, &d);
	test_assert(d.allow);
	q.mfa_time = q.now - 901;		/* max_age */
	stepup_policy_folder(policy, &q, &d);
	test_assert(!d.allow);

	q.mailbox = "Confidentiel";
	q.mfa_time = q.now;
	stepup_policy_folder(policy, &q, &d);
	test_assert(d.require == STEPUP_FOLDER_APPROVAL && !d.allow);
	test_assert(d.grant_secs == 900);
	q.mailbox = "shared/cabinet/Notes";
	stepup_policy_folder(policy, &q, &d);
	test_assert(d.require == STEPUP_FOLDER_TOTP_AND_APPROVAL);
	test_assert(!d.allow);		/* a code alone is not enough */
	stepup_policy_unref(&policy);
	test_end();
}

static void test_policy_totp_or_approval(void)
{
	struct stepup_policy *policy;
	struct stepup_folder_query q;
	struct stepup_folder_decision d;
	const char *const *unenforced;
	const char *error;

	test_begin("policy: totp_or_approval opens with a two-step login");
	policy = parse(BASE LOGIN_DEFAULT
		"approval = { url = \"https://a.example/v1\"; key_file = \"/k\"; };\n"
		"folders = ( { name = \"f\"; mailbox = \"F\"; require = \"totp_or_approval\"; max_age = \"10m\"; },\n"
		"  { name = \"g\"; mailbox = \"G\"; require = \"totp\"; fetch_limit = { messages = 5; window = \"1m\"; }; } );\n",
		&error);
	test_assert(policy != NULL);
	if (policy == NULL) {
		i_error("%s", error);
		test_end();
		return;
	}
	i_zero(&q);
	q.user = "u";
	q.protocol = "imap";
	q.now = 1764000000;
	q.mailbox = "F/x";
	q.level = STEPUP_AUTH_PASSWORD;
	stepup_policy_folder(policy, &q, &d);
	test_assert(d.require == STEPUP_FOLDER_TOTP_OR_APPROVAL && !d.allow);
	q.level = STEPUP_AUTH_TOTP;
	q.mfa_time = q.now - 60;
	stepup_policy_folder(policy, &q, &d);
	test_assert(d.allow);
	q.mfa_time = q.now - 601;
	stepup_policy_folder(policy, &q, &d);
	test_assert(!d.allow);

	/* approvals are carried out: nothing to warn about */
	unenforced = stepup_policy_get_unenforced(policy);
	test_assert(str_array_length(unenforced) == 0);
	stepup_policy_unref(&policy);
	test_end();
}

#define APPROVAL(keys) BASE LOGIN_DEFAULT \
	"approval = { url = \"https://a.example/v1\"; " keys " };\n"
#define PIN_A "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define PIN_B "sha256//n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="

static void test_policy_approval_bad(void)
{
	static const struct bad_case tests[] = {
		{ BASE LOGIN_DEFAULT "approval = { key_file = \"/k\"; };\n", "p.conf:3: approval.url is missing" },
		{ APPROVAL(""), "p.conf:3: approval.keys (or key_file) is missing" },
		{ APPROVAL("key_file = \"/k\"; keys = ( { id = \"a\"; file = \"/a\"; } );"), "key_file and keys exclude each other" },
		{ APPROVAL("keys = ( );"), "approval.keys is empty" },
		{ APPROVAL("keys = { id = \"a\"; file = \"/a\"; };"), "keys must be a list of keys" },
		{ APPROVAL("keys = ( { id = \"a\"; } );"), "key 1 needs an id and a file" },
		{ APPROVAL("keys = ( { id = \"a\"; file = \"/a\"; }, { file = \"/b\"; } );"), "key 2 needs an id and a file" },
		{ APPROVAL("keys = ( { id = \"a:b\"; file = \"/a\"; } );"), "key id 'a:b' must be 1..64 letters" },
		{ APPROVAL("keys = ( { id = \"a\"; file = \"/a\"; }, { id = \"a\"; file = \"/b\"; } );"), "key id 'a' is listed twice" },
		{ APPROVAL("keys = ( { id = \"a\"; file = \"a\"; } );"), "must be an absolute path" },
		{ APPROVAL("keys = ( { id = \"a\"; file = \"/a\"; colour = 1; } );"), "unknown setting approval.keys.colour" },
		{ APPROVAL("key_file = \"/k\"; pin = \"sha1//AAAA\";"), "approval.pin: pin value 1 is not sha256//" },
		{ APPROVAL("key_file = \"/k\"; pin = \"" PIN_A ";\";"), "pin value 2 is not" },
		{ APPROVAL("key_file = \"/k\"; pin = \"sha256//AAAA\";"), "pin value 1 is not" },
		{ APPROVAL("key_file = \"/k\"; pin = \"sha256//!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\";"), "pin value 1 is not" },
		{ APPROVAL("key_file = \"/k\"; pin = [ \"" PIN_A "\" ];"), "pin must be a string" },
		{ APPROVAL("key_file = \"/k\"; client_cert = \"/c.pem\";"), "client_cert and client_key go together" },
		{ APPROVAL("key_file = \"/k\"; client_key = \"/c.key\";"), "client_cert and client_key go together" },
		{ APPROVAL("key_file = \"/k\"; ca_file = \"ca.pem\";"), "must be an absolute path" },
		{ APPROVAL("key_file = \"/k\"; timeout = \"0s\";"), "approval.timeout must be 1s..60s" },
		{ APPROVAL("key_file = \"/k\"; timeout = \"61s\";"), "approval.timeout must be 1s..60s" },
		{ APPROVAL("key_file = \"/k\"; wait = \"11m\";"), "approval.wait must be at most 10m" },
		{ APPROVAL("key_file = \"/k\"; failmode = \"lenient\";"), "approval.failmode must be" },
		{ BASE LOGIN_DEFAULT "approval = { url = \"http://a.example/v1\"; key_file = \"/k\"; };\n", "approval.url: URL must be https://" },
		{ BASE LOGIN_DEFAULT "approval = { url = \"http://localhost:8080/v1\"; key_file = \"/k\"; };\n", "approval.url: URL must be https://" },
		{ BASE LOGIN_DEFAULT "approval = { url = \"https://u:p@a.example/v1\"; key_file = \"/k\"; };\n", "must not name a user or password" },
		{ BASE LOGIN_DEFAULT "approval = { url = \"https://a.example/v1#x\"; key_file = \"/k\"; };\n", "must not have a #fragment" },
		{ APPROVAL("key_file = \"/k\";") "folders = ( { name = \"f\"; mailbox = \"F\"; require = \"approval\"; grant_scope = \"folder\"; } );\n", "grant_scope must be \"ip\", \"session\" or \"user\"" },
		{ APPROVAL("key_file = \"/k\";") "folders = ( { name = \"f\"; mailbox = \"F\"; require = \"totp\"; grant_scope = \"user\"; } );\n", "grant_scope only applies to rules that require an approval" },
	};

	test_begin("policy: bad approval blocks refused with file:line");
	test_bad_cases(tests, N_ELEMENTS(tests));
	test_end();
}

static void test_policy_approval(void)
{
	const struct stepup_approval_settings *set;
	const struct stepup_approval_key_file *keys;
	struct stepup_folder_decision d;
	struct stepup_folder_query q;
	struct stepup_policy *policy;
	const char *error;
	unsigned int count;

	test_begin("policy: approval keys, pins, mutual TLS, grant_scope");
	policy = parse(APPROVAL(
		"keys = ( { id = \"2026-11\"; file = \"/etc/new.key\"; },\n"
		"         { id = \"2026-05\"; file = \"/etc/old.key\"; } );\n"
		"pin = \"" PIN_A ";" PIN_B "\";\n"
		"client_cert = \"/etc/c.pem\"; client_key = \"/etc/c.key\";\n"
		"ca_file = \"/etc/ca.pem\"; timeout = \"3s\"; wait = \"25s\";")
		"folders = ( { name = \"f\"; mailbox = \"F\"; require = \"approval\"; grant = \"15m\"; grant_scope = \"user\"; },\n"
		"  { name = \"g\"; mailbox = \"G\"; require = \"totp_and_approval\"; } );\n",
		&error);
	test_assert(policy != NULL);
	if (policy == NULL) {
		i_error("%s", error);
		test_end();
		return;
	}
	set = stepup_policy_get_approval(policy);
	keys = array_get(&set->keys, &count);
	test_assert(count == 2);
	test_assert_strcmp(keys[0].id, "2026-11");
	test_assert_strcmp(keys[0].file, "/etc/new.key");
	test_assert_strcmp(keys[1].id, "2026-05");
	test_assert_strcmp(set->key_file, "/etc/new.key");
	test_assert_strcmp(set->pin, PIN_A ";" PIN_B);
	test_assert_strcmp(set->client_cert, "/etc/c.pem");
	test_assert_strcmp(set->client_key, "/etc/c.key");
	test_assert_strcmp(set->ca_file, "/etc/ca.pem");
	test_assert(set->timeout_secs == 3 && set->wait_secs == 25);
	test_assert(!set->failmode_open);

	i_zero(&q);
	q.user = "u";
	q.protocol = "imap";
	q.now = 1764000000;
	q.mailbox = "F";
	stepup_policy_folder(policy, &q, &d);
	test_assert(d.require == STEPUP_FOLDER_APPROVAL && d.grant_secs == 900 &&
		    d.grant_scope == STEPUP_GRANT_SCOPE_USER);
	q.mailbox = "G";
	stepup_policy_folder(policy, &q, &d);
	test_assert(d.grant_scope == STEPUP_GRANT_SCOPE_IP);
	stepup_policy_unref(&policy);

	/* key_file: one key, id "1" */
	policy = parse(APPROVAL("key_file = \"/etc/k\"; failmode = \"open\";"),
		       &error);
	test_assert(policy != NULL);
	if (policy != NULL) {
		set = stepup_policy_get_approval(policy);
		keys = array_get(&set->keys, &count);
		test_assert(count == 1 && strcmp(keys[0].id, "1") == 0 &&
			    strcmp(keys[0].file, "/etc/k") == 0);
		test_assert(set->failmode_open && set->pin == NULL);
		test_assert(set->timeout_secs == 5 && set->wait_secs == 30);
		stepup_policy_unref(&policy);
	}
	/* plain http to the loopback */
	policy = parse(BASE LOGIN_DEFAULT "approval = { url = \"http://[::1]:8080/a\"; key_file = \"/k\"; };\n", &error);
	test_assert(policy != NULL);
	stepup_policy_unref(&policy);
	test_assert_strcmp(stepup_grant_scope_name(STEPUP_GRANT_SCOPE_SESSION),
			   "session");
	test_end();
}

static void test_policy_normalize(void)
{
	test_begin("policy: mailbox names normalised");
	test_assert_strcmp(stepup_policy_normalize_mailbox("inBoX", '/', "", TRUE), "INBOX");
	test_assert_strcmp(stepup_policy_normalize_mailbox("inbox/x", '/', "", TRUE), "INBOX/x");
	test_assert_strcmp(stepup_policy_normalize_mailbox("inboxes", '/', "", TRUE), "inboxes");
	test_assert_strcmp(stepup_policy_normalize_mailbox("Direction.2026", '.', "", TRUE), "Direction/2026");
	test_assert_strcmp(stepup_policy_normalize_mailbox("INBOX.Direction", '.', "INBOX.", TRUE), "Direction");
	test_assert_strcmp(stepup_policy_normalize_mailbox("shared/alice/Secret", '/', "shared/alice/", FALSE), "shared/alice/Secret");
	test_end();
}

static void test_policy_audit_mode_and_no_match(void)
{
	struct stepup_policy *policy;
	struct stepup_login_query q;
	struct stepup_login_decision d;
	const char *error;

	test_begin("policy: audit mode, no matching rule denies");
	policy = parse(BASE "mode = \"audit\";\n"
		       "login = ( { name = \"pop\"; protocols = [ \"pop3\" ]; require = \"deny\"; } );\n",
		       &error);
	test_assert(policy != NULL);
	i_zero(&q);
	q.user = "u";
	q.protocol = "imap";
	stepup_policy_login(policy, &q, &d);
	test_assert(d.require == STEPUP_LOGIN_DENY && d.rule == NULL);
	test_assert(d.audit_only);
	q.protocol = "pop3";
	stepup_policy_login(policy, &q, &d);
	test_assert_strcmp(d.rule, "pop");
	stepup_policy_unref(&policy);
	test_end();
}

static void test_policy_load_file_checks(void)
{
	char path[] = "/tmp/stepup-policy-XXXXXX";
	struct stepup_policy *policy;
	const char *error;
	int fd;

	test_begin("policy: file checks (mode, type)");
	fd = mkstemp(path);
	test_assert(fd != -1);
	test_assert(write(fd, BASE LOGIN_DEFAULT, strlen(BASE LOGIN_DEFAULT)) > 0);
	i_close_fd(&fd);
	test_assert(chmod(path, 0644) == 0);
	test_assert(stepup_policy_load(path, &policy, &error) == 0);
	stepup_policy_unref(&policy);
	test_assert(chmod(path, 0664) == 0);
	test_assert(stepup_policy_load(path, &policy, &error) == -1);
	test_assert(strstr(error, "writable by group or others") != NULL);
	test_assert(stepup_policy_load("/tmp", &policy, &error) == -1);
	test_assert(unlink(path) == 0);
	test_assert(stepup_policy_load(path, &policy, &error) == -1);
	test_end();
}

static void write_policy(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0644);

	i_assert(fd != -1);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		i_unreached();
	i_close_fd(&fd);
}

static void test_policy_cache_reload(void)
{
	char path[] = "/tmp/stepup-policy-XXXXXX";
	struct event *event = event_create(NULL);
	struct stepup_policy_cache *cache;
	const struct stepup_policy *policy;
	const char *error;
	struct timeval times[2];
	time_t now = 1000;
	int fd;

	test_begin("policy: cache reloads, keeps the last good policy");
	fd = mkstemp(path);
	i_close_fd(&fd);
	write_policy(path, "garbage");
	cache = stepup_policy_cache_init(path, event);
	test_expect_error_string("stepup: policy:");
	test_assert(stepup_policy_cache_get(cache, now++, &policy, &error) == -1);
	test_expect_no_more_errors();

	write_policy(path, BASE "totp = { digits = 8; };\n" LOGIN_DEFAULT);
	times[0].tv_sec = times[1].tv_sec = 2000; times[0].tv_usec = times[1].tv_usec = 0;
	test_assert(utimes(path, times) == 0);
	test_assert(stepup_policy_cache_get(cache, now++, &policy, &error) == 0);
	test_assert(stepup_policy_get_totp(policy)->digits == 8);

	write_policy(path, BASE "totp = { digits = 9; };\n" LOGIN_DEFAULT);
	times[0].tv_sec = times[1].tv_sec = 3000;
	test_assert(utimes(path, times) == 0);
	test_expect_errors(2);
	test_assert(stepup_policy_cache_get(cache, now++, &policy, &error) == 0);
	test_expect_no_more_errors();
	test_assert(stepup_policy_get_totp(policy)->digits == 8);

	write_policy(path, BASE "totp = { digits = 6; };\n" LOGIN_DEFAULT);
	times[0].tv_sec = times[1].tv_sec = 4000;
	test_assert(utimes(path, times) == 0);
	/* same second: not looked at yet */
	test_assert(stepup_policy_cache_get(cache, now - 1, &policy, &error) == 0);
	test_assert(stepup_policy_get_totp(policy)->digits == 8);
	test_assert(stepup_policy_cache_get(cache, now++, &policy, &error) == 0);
	test_assert(stepup_policy_get_totp(policy)->digits == 6);

	stepup_policy_cache_deinit(&cache);
	event_unref(&event);
	i_unlink(path);
	test_end();
}

static void test_policy_dump_roundtrip(void)
{
	static const char *extra =
		"version = 1;\n"
		"mode = \"audit\";\n"
		"groups = { b = [ \"z\", \"y\" ]; a = [ \"x\" ]; };\n"
		"networks = { n = [ \"10.0.0.0/8\", \"::1\" ]; };\n"
		"login = ( { name = \"r\"; users = [ \"u\", \"@a\" ]; networks = [ \"n\", \"192.0.2.0/24\" ];\n"
		"  protocols = [ \"imap\" ]; hours = \"22:00-06:00\"; days = [ \"mon\", \"fri\" ];\n"
		"  require = \"totp\"; enroll_by = \"2027-01-31\"; app_passwords = false; } );\n"
		"folders = ( { name = \"f\"; mailbox = \"inbox/Sec\\\"ret\"; auth = [ \"app\", \"password\" ];\n"
		"  require = \"totp\"; max_age = \"1h\"; } );\n";
	static const char *approval =
		"version = 1;\n"
		"approval = { url = \"https://a.example:8443/v1?t=1\";\n"
		"  keys = ( { id = \"new\"; file = \"/etc/n.key\"; }, { id = \"old\"; file = \"/etc/o.key\"; } );\n"
		"  pin = \"" PIN_A ";" PIN_B "\"; client_cert = \"/c\"; client_key = \"/k\";\n"
		"  ca_file = \"/ca\"; timeout = \"2s\"; wait = \"1m\"; failmode = \"open\"; };\n"
		"login = ( { name = \"r\"; require = \"password\"; } );\n"
		"folders = ( { name = \"f\"; mailbox = \"F\"; require = \"approval\"; grant = \"5m\"; grant_scope = \"session\"; } );\n";
	/* what libconfig's scanner unescapes, and what it keeps as is */
	static const char *quoting =
		"version = 1;\n"
		"totp = { issuer = \"O'Brien \\\\ \\\"M\\\" \\t\\x01 \\q\"; };\n"
		"audit = { path = \"/var/log/it's.jsonl\"; };\n"
		"login = ( { name = \"r\"; require = \"password\"; } );\n";
	const char *const texts[] = { spec_policy, extra, quoting, approval };
	struct stepup_policy *p1, *p2;
	const char *dump1, *dump2, *error = NULL;
	unsigned int i;

	test_begin("policy: dump -> parse -> dump is identical");
	for (i = 0; i < N_ELEMENTS(texts); i++) {
		p1 = parse(texts[i], &error);
		test_assert_idx(p1 != NULL, i);
		if (p1 == NULL) {
			i_error("%s", error);
			continue;
		}
		dump1 = stepup_policy_dump(p1);
		p2 = parse(dump1, &error);
		test_assert_idx(p2 != NULL, i);
		if (p2 == NULL) {
			i_error("%s\n%s", error, dump1);
			stepup_policy_unref(&p1);
			continue;
		}
		dump2 = stepup_policy_dump(p2);
		test_assert_strcmp_idx(dump1, dump2, i);
		stepup_policy_unref(&p1);
		stepup_policy_unref(&p2);
	}
	test_end();
}

static void test_policy_approvers(void)
{
	static const char *text =
		"version = 1;\n"
		"groups = { security = [ \"dave\", \"erin\" ]; };\n"
		"approval = { url = \"https://a.example/v1/requests\";\n"
		"  key_file = \"/k\"; approvers = [ \"carol\", \"@security\" ]; };\n"
		"login = ( { name = \"r\"; require = \"totp\"; } );\n"
		"folders = ( { name = \"hr\"; mailbox = \"HR\"; require = \"approval\";\n"
		"  grant = \"20m\"; self_approve = true; },\n"
		"  { name = \"boss\"; mailbox = \"Boss\"; require = \"totp_and_approval\"; } );\n";
	struct stepup_policy *policy, *p2;
	struct stepup_folder_rule_info info;
	const char *error = NULL, *dump;

	test_begin("policy: approval.approvers and self_approve");
	policy = parse(text, &error);
	test_assert(policy != NULL);
	if (policy == NULL) {
		i_error("%s", error);
		test_end();
		return;
	}
	test_assert(stepup_policy_is_approver(policy, "carol"));
	test_assert(stepup_policy_is_approver(policy, "erin"));
	test_assert(!stepup_policy_is_approver(policy, "alice"));
	test_assert(!stepup_policy_is_approver(policy, "security"));
	test_assert(!stepup_policy_is_approver(policy, "@security"));
	test_assert(stepup_policy_get_folder_rule(policy, "hr", &info));
	test_assert(info.grant_secs == 1200 && info.self_approve &&
		    info.require == STEPUP_FOLDER_APPROVAL);
	test_assert(stepup_policy_get_folder_rule(policy, "boss", &info));
	test_assert(info.grant_secs == 0 && !info.self_approve);
	test_assert(!stepup_policy_get_folder_rule(policy, "nope", &info));
	dump = stepup_policy_dump(policy);
	test_assert(strstr(dump, "approvers = [ \"carol\", \"@security\" ];") != NULL);
	test_assert(strstr(dump, "self_approve = true;") != NULL);
	p2 = parse(dump, &error);
	test_assert(p2 != NULL && stepup_policy_is_approver(p2, "dave"));
	stepup_policy_unref(&p2);
	stepup_policy_unref(&policy);

	/* no approvers: nobody */
	policy = parse("version = 1;\napproval = { url = \"https://a/v1\"; "
		       "key_file = \"/k\"; };\nlogin = ( { name = \"r\"; "
		       "require = \"totp\"; } );\n", &error);
	test_assert(policy != NULL && !stepup_policy_is_approver(policy, "carol"));
	stepup_policy_unref(&policy);

	error = "";
	test_assert(parse("version = 1;\napproval = { url = \"https://a/v1\"; "
			  "key_file = \"/k\"; approvers = [ \"@nobody\" ]; };\n"
			  "login = ( { name = \"r\"; require = \"totp\"; } );\n",
			  &error) == NULL);
	test_assert(strstr(error, "p.conf:2: approval.approvers: unknown group 'nobody'") != NULL);
	test_assert(parse("version = 1;\napproval = { url = \"https://a/v1\"; "
			  "key_file = \"/k\"; approvers = [ \"\" ]; };\n"
			  "login = ( { name = \"r\"; require = \"totp\"; } );\n",
			  &error) == NULL);
	test_assert(strstr(error, "p.conf:2:") != NULL && strstr(error, "approvers") != NULL);
	test_assert(parse("version = 1;\nlogin = ( { name = \"r\"; "
			  "require = \"totp\"; } );\nfolders = ( { name = \"f\"; "
			  "mailbox = \"F\"; require = \"totp\"; self_approve = true; } );\n",
			  &error) == NULL);
	test_assert(strstr(error, "self_approve only applies to rules that require an approval") != NULL);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_policy_bad,
		test_policy_approval_bad,
		test_policy_approval,
		test_policy_approvers,
		test_policy_all_errors_at_once,
		test_policy_spec_example,
		test_policy_folders,
		test_policy_normalize,
		test_policy_audit_mode_and_no_match,
		test_policy_load_file_checks,
		test_policy_cache_reload,
		test_policy_dump_roundtrip,
		test_policy_totp_or_approval,
		NULL
	};
	return test_run(test_functions);
}
