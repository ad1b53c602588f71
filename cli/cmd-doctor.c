/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup doctor [--dovecot-config FILE] [--mail-user USER] [--json]:
   reads `doveconf -n` and the policy and checks what each Dovecot process
   will be able to do, as the user it runs as (root forks and switches to
   that user for each access check). One line per check, OK or what is
   wrong and what to run; exit 1 on any failure. */

#include "lib.h"
#include "stepup-compat.h"
#include "array.h"
#include "str.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "doveconf-read.h"
#include "doveconf-dialect.h"
#include "stepup-policy.h"
#include "stepup-facts.h"

#include <stdio.h>
#include <limits.h>
#include <unistd.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define DOCTOR_USAGE "usage: stepup doctor [--dovecot-config FILE] " \
	"[--mail-user USER] [--json]"
#define MAX_MAIL_IDS 16

struct doctor_user {
	const char *name;	/* for messages */
	uid_t uid;
	gid_t gid;
	/* mail users: mail_access_groups, the groups Dovecot adds to the
	   mail processes (group names, space or comma separated) */
	const char *extra_groups;
	bool known;
};

struct doctor {
	struct stepup_cli *cli;
	string_t *json;
	unsigned int failures;
};

static void report(struct doctor *doc, bool ok, const char *name,
		   const char *detail, const char *fix)
{
	if (!ok)
		doc->failures++;
	if (doc->cli->json) {
		str_printfa(doc->json, "%s{\"check\":%s,\"ok\":%s,\"detail\":%s",
			    str_len(doc->json) > 1 ? "," : "",
			    stepup_cli_json_str(name), ok ? "true" : "false",
			    stepup_cli_json_str(detail));
		if (fix != NULL)
			str_printfa(doc->json, ",\"fix\":%s",
				    stepup_cli_json_str(fix));
		str_append_c(doc->json, '}');
		return;
	}
	printf("%-4s  %s: %s\n", ok ? "OK" : "FAIL", name, detail);
	if (fix != NULL)
		printf("      fix: %s\n", fix);
}

static bool user_by_name(const char *name, struct doctor_user *user_r)
{
	struct passwd *pw = getpwnam(name);

	i_zero(user_r);
	user_r->name = t_strdup(name);
	if (pw == NULL)
		return FALSE;
	user_r->uid = pw->pw_uid;
	user_r->gid = pw->pw_gid;
	user_r->known = TRUE;
	return TRUE;
}

static int add_extra_groups(const char *names)
{
	gid_t gids[NGROUPS_MAX + 16];
	const char *const *name;
	struct group *gr;
	int count;

	count = getgroups(NGROUPS_MAX, gids);
	if (count < 0)
		return -1;
	for (name = t_strsplit_spaces(names, " ,"); *name != NULL; name++) {
		if ((gr = getgrnam(*name)) == NULL ||
		    count >= (int)N_ELEMENTS(gids))
			continue;
		gids[count++] = gr->gr_gid;
	}
	return setgroups(count, gids);
}

/* Whether user may access(path, amode): checked in a child running as
   that user with its groups. */
static bool user_can(const struct doctor_user *user, const char *path,
		     int amode)
{
	struct passwd *pw;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		return access(path, amode) == 0;
	pid = fork();
	if (pid < 0)
		i_fatal("fork() failed: %m");
	if (pid == 0) {
		pw = getpwuid(user->uid);
		if (pw != NULL ? initgroups(pw->pw_name, user->gid) < 0 :
		    setgroups(1, &user->gid) < 0)
			_exit(2);
		if (user->extra_groups != NULL &&
		    add_extra_groups(user->extra_groups) < 0)
			_exit(2);
		if (setgid(user->gid) < 0 || setuid(user->uid) < 0)
			_exit(2);
		_exit(access(path, amode) == 0 ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) < 0)
		return FALSE;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* "$default_internal_user" (or unset) -> the internal user's name */
static const char *
service_user(const struct doveconf_section *root, const char *service)
{
	const struct doveconf_section *s = doveconf_find(root, "service",
							 service);
	const char *user = s == NULL ? NULL : doveconf_get(s, "user");
	const char *internal = doveconf_get(root, "default_internal_user");

	if (internal == NULL)
		internal = "dovecot";
	if (user == NULL || doveconf_is_internal_user(user))
		return internal;
	return user;
}

/* The mail users' uid:gid: mail_uid/mail_gid, --mail-user, or the
   entries of passwd-file userdbs. */
static void
mail_users(const struct doveconf_section *root, const char *mail_user,
	   ARRAY_TYPE(const_string) *ids_r, const char **unknown_r)
{
	struct doveconf_section *const *child;
	struct doctor_user u;
	const char *uid = doveconf_get(root, "mail_uid");
	const char *gid = doveconf_get(root, "mail_gid");

	*unknown_r = NULL;
	if (mail_user != NULL) {
		if (!user_by_name(mail_user, &u)) {
			*unknown_r = t_strdup_printf("no user %s", mail_user);
			return;
		}
		array_push_back(ids_r, &u.name);
		return;
	}
	if (uid != NULL) {
		const char *id = t_strdup_printf("%s:%s", uid,
						 gid == NULL ? uid : gid);
		array_push_back(ids_r, &id);
		return;
	}
	array_foreach(&root->children, child) {
		const char *driver, *file;
		char line[1024];
		FILE *f;

		if (strcmp((*child)->name, "userdb") != 0)
			continue;
		driver = doveconf_db_driver(root, *child);
		if (driver == NULL || strcmp(driver, "passwd-file") != 0)
			continue;
		file = doveconf_passwd_file(root, *child);
		if (file == NULL || (f = fopen(file, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL &&
		       array_count(ids_r) < MAX_MAIL_IDS) {
			const char *const *fields =
				t_strsplit(t_strcut(line, '\n'), ":");
			const char *id;

			if (str_array_length(fields) < 4 ||
			    fields[2][0] == '\0')
				continue;
			id = t_strdup_printf("%s:%s", fields[2],
					     fields[3][0] == '\0' ? fields[2] :
					     fields[3]);
			if (!array_lsearch(ids_r, &id, i_strcmp_p))
				array_push_back(ids_r, &id);
		}
		fclose(f);
	}
	if (array_count(ids_r) == 0) {
		*unknown_r = "the userdb does not say (passwd, sql, ldap): "
			"run stepup doctor --mail-user USER with one of them";
	}
}

/* mail_access_groups with Dovecot's variables for its groups resolved */
static const char *mail_access_groups(const struct doveconf_section *root)
{
	const char *groups = doveconf_get(root, "mail_access_groups");
	const char *internal = doveconf_get(root, "default_internal_group");
	const char *const *name;
	string_t *str = t_str_new(64);

	if (groups == NULL)
		return NULL;
	for (name = t_strsplit_spaces(groups, " ,"); *name != NULL; name++) {
		if (str_len(str) > 0)
			str_append_c(str, ' ');
		str_append(str, !doveconf_is_internal_group(*name) ?
			   *name : internal == NULL ? "dovecot" : internal);
	}
	return str_len(str) == 0 ? NULL : str_c(str);
}

static bool id_user(const char *id, struct doctor_user *user_r)
{
	const char *const *f = t_strsplit(id, ":");
	struct passwd *pw;
	struct group *gr;
	unsigned int uid, gid;

	if (str_array_length(f) != 2)
		return user_by_name(id, user_r);
	i_zero(user_r);
	if (str_to_uint(f[0], &uid) < 0) {
		if ((pw = getpwnam(f[0])) == NULL)
			return FALSE;
		uid = pw->pw_uid;
	}
	if (str_to_uint(f[1], &gid) < 0) {
		if ((gr = getgrnam(f[1])) == NULL)
			return FALSE;
		gid = gr->gr_gid;
	}
	user_r->uid = uid;
	user_r->gid = gid;
	user_r->name = t_strdup_printf("uid %u gid %u", uid, gid);
	user_r->known = TRUE;
	return TRUE;
}

static void
check_readable(struct doctor *doc, const char *name, const char *path,
	       const struct doctor_user *users, unsigned int count,
	       const char *fix)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (!users[i].known)
			continue;
		if (!user_can(&users[i], path, R_OK)) {
			report(doc, FALSE, name, t_strdup_printf(
				"%s cannot read %s", users[i].name, path), fix);
			return;
		}
	}
	report(doc, TRUE, name, t_strdup_printf("%s readable by the processes "
		"that read it", path), NULL);
}

static const char *rule_or(const char *v, const char *def)
{
	return v == NULL ? def : v;
}

/* A master passdb that ends the login (pass = no) skips the stepup
   stages: the auth process refuses to start with it. (2.4 has no pass:
   result_success = continue is its pass = yes.) */
static void
check_master_passdb(struct doctor *doc, const struct doveconf_section *root,
		    const struct doveconf_section *p)
{
	const char *pass = doveconf_get(p, "pass");
	const char *success = doveconf_get(p, "result_success");
	const char *driver = rule_or(doveconf_db_driver(root, p), "?");

	if (null_strcmp(pass, "yes") == 0 ||
	    (success != NULL && str_begins_with(success, "continue"))) {
		report(doc, TRUE, "master passdb", t_strdup_printf(
			"driver = %s with pass = yes: the stepup stages run "
			"for the user logged in to", driver), NULL);
		return;
	}
	report(doc, FALSE, "master passdb", t_strdup_printf(
		"driver = %s, master = yes with pass = no: master logins would "
		"skip the stepup stages, so the auth process does not start",
		driver), t_strconcat(DOVECONF_FIX(root,
		"set pass = yes in that passdb",
		"set result_success = continue in that passdb"), " (the "
		"master password is then followed by the user's code) or "
		"remove it", NULL));
}

static void check_chain(struct doctor *doc, const struct doveconf_section *root)
{
	ARRAY(struct doveconf_section *) passdbs;
	struct doveconf_section *const *child, *const *p;
	const struct doveconf_section *first, *last;
	const char *driver;
	unsigned int i, count;

	t_array_init(&passdbs, 8);
	array_foreach(&root->children, child) {
		if (strcmp((*child)->name, "passdb") != 0)
			continue;
		if (null_strcmp(doveconf_get(*child, "master"), "yes") == 0)
			check_master_passdb(doc, root, *child);
		else
			array_push_back(&passdbs, child);
	}
	p = array_get(&passdbs, &count);
	if (count < 3) {
		report(doc, FALSE, "passdb chain", t_strdup_printf(
			"%u passdb(s): needs stepup, your passdb, stepup "
			"stage=verify", count), DOVECONF_FIX(root,
			"see doc/examples/conf.d/90-stepup.conf and "
			"doc/admin-guide.md section 2",
			"see doc/examples/conf.d/90-stepup-2.4.conf and "
			"doc/admin-guide.md section 2b"));
		return;
	}
	first = p[0];
	last = p[count - 1];
	driver = rule_or(doveconf_db_driver(root, first), "?");
	if (strcmp(driver, "stepup") != 0 ||
	    doveconf_passdb_is_verify(root, first)) {
		report(doc, FALSE, "passdb chain", t_strdup_printf(
			"the first passdb is driver = %s, not stepup", driver),
			strcmp(driver, "pam") == 0 ? "on Debian, comment out "
			"`!include auth-system.conf.ext` in "
			"conf.d/10-auth.conf (90-stepup.conf has the PAM passdb "
			"in the right place)" : "move the stepup passdb first");
		return;
	}
	if (strcmp(rule_or(doveconf_get(first, "result_failure"), "continue"),
		   "return-fail") != 0 ||
	    strcmp(rule_or(doveconf_get(first, "result_internalfail"),
			   "continue"), "return-fail") != 0) {
		report(doc, FALSE, "passdb chain", "the first stepup passdb "
		       "needs result_failure = return-fail and "
		       "result_internalfail = return-fail",
		       "add both to its passdb block");
		return;
	}
	for (i = 1; i + 1 < count; i++) {
		driver = rule_or(doveconf_db_driver(root, p[i]), "?");
		if (strcmp(rule_or(doveconf_get(p[i], "result_success"),
				   "return-ok"), "continue-ok") != 0) {
			report(doc, FALSE, "passdb chain", t_strdup_printf(
				"passdb driver = %s between the stepup stages "
				"has no result_success = continue-ok", driver),
				"add result_success = continue-ok to it");
			return;
		}
	}
	if (strcmp(rule_or(doveconf_db_driver(root, last), "?"),
		   "stepup") != 0 ||
	    !doveconf_passdb_is_verify(root, last) ||
	    (strcmp(rule_or(doveconf_get(last, "skip"), "never"),
		    "never") != 0 &&
	     strcmp(rule_or(doveconf_get(last, "skip"), "never"),
		    "unauthenticated") != 0)) {
		report(doc, FALSE, "passdb chain", t_strdup_printf(
			"the last passdb is driver = %s, not stepup "
			"stage=verify with skip = never (or unauthenticated)",
			rule_or(doveconf_db_driver(root, last), "?")),
			DOVECONF_FIX(root, "end the chain with the stage=verify "
			"passdb of doc/examples/conf.d/90-stepup.conf",
			"end the chain with the passdb stepup_verify of "
			"doc/examples/conf.d/90-stepup-2.4.conf"));
		return;
	}
	report(doc, TRUE, "passdb chain", t_strdup_printf(
		"stepup, %u passdb(s) with continue-ok, stepup stage=verify",
		count - 2), NULL);
}

static void check_settings(struct doctor *doc,
			   const struct doveconf_section *root)
{
	const char *mechs = rule_or(doveconf_get(root, "auth_mechanisms"),
				    "plain");
	const struct doveconf_section *imap = doveconf_find(root, "protocol",
							    "imap");
	const struct doveconf_section *svc = doveconf_find(root, "service",
							   "stepup-audit");
	const char *const *m;
	string_t *bad = t_str_new(64);

	for (m = t_strsplit_spaces(mechs, " "); *m != NULL; m++) {
		if (strcasecmp(*m, "plain") != 0 &&
		    strcasecmp(*m, "login") != 0)
			str_printfa(bad, "%s%s", str_len(bad) > 0 ? " " : "",
				    *m);
	}
	if (str_len(bad) > 0) {
		report(doc, FALSE, "auth_mechanisms", t_strdup_printf(
			"%s cannot carry a one-time code (refused for "
			"everyone)", str_c(bad)),
			"auth_mechanisms = plain login");
	} else {
		report(doc, TRUE, "auth_mechanisms", mechs, NULL);
	}
	if (!doveconf_plugin_loaded(root, root, "stepup")) {
		report(doc, FALSE, "mail_plugins", "stepup is not loaded: no "
		       "folder rules", DOVECONF_FIX(root,
		       "mail_plugins = $mail_plugins stepup",
		       "mail_plugins { stepup = yes }"));
	} else if (imap == NULL ||
		   !doveconf_plugin_loaded(root, imap, "imap_stepup")) {
		report(doc, FALSE, "mail_plugins", "imap_stepup is not loaded "
		       "for IMAP (no grace-period ALERT)", DOVECONF_FIX(root,
		       "protocol imap { mail_plugins = $mail_plugins "
		       "imap_stepup }", "protocol imap { mail_plugins { "
		       "imap_stepup = yes } }"));
	} else {
		report(doc, TRUE, "mail_plugins", "stepup, imap_stepup", NULL);
	}
	if (svc == NULL || doveconf_get(svc, "executable") == NULL ||
	    doveconf_find(svc, "unix_listener", "stepup-audit") == NULL) {
		report(doc, FALSE, "service stepup-audit", "missing or without "
		       "executable and unix_listener stepup-audit: guarded "
		       "folders are refused", DOVECONF_FIX(root,
		       "copy the service block of "
		       "doc/examples/conf.d/90-stepup.conf",
		       "copy the service block of "
		       "doc/examples/conf.d/90-stepup-2.4.conf"));
	} else {
		report(doc, TRUE, "service stepup-audit",
		       doveconf_get(svc, "executable"), NULL);
	}
}

static void
check_state(struct doctor *doc, const struct stepup_policy *policy,
	    const struct doctor_user *auth)
{
	const char *path = stepup_policy_get_state_path(policy);
	struct stat st;

	if (path == NULL) {
		report(doc, TRUE, "state", "state.redis", NULL);
		return;
	}
	if (stat(path, &st) < 0) {
		report(doc, FALSE, "state", t_strdup_printf("%s: %s", path,
			strerror(errno)), t_strdup_printf(
			"install -d -o %s -g %s -m 0700 %s", auth->name,
			auth->name, path));
	} else if (!S_ISDIR(st.st_mode) || !auth->known ||
		   st.st_uid != auth->uid || (st.st_mode & 0077) != 0) {
		struct passwd *pw = getpwuid(st.st_uid);

		report(doc, FALSE, "state", t_strdup_printf(
			"%s is owned by %s, mode %04o: the auth process runs "
			"as %s and needs it as its own, mode 0700", path,
			pw == NULL ? dec2str(st.st_uid) : pw->pw_name,
			(unsigned int)(st.st_mode & 07777), auth->name),
			t_strdup_printf("chown -R %s:%s %s; chmod 0700 %s",
					auth->name, auth->name, path, path));
	} else {
		report(doc, TRUE, "state", t_strdup_printf(
			"%s owned by %s, mode 0700", path, auth->name), NULL);
	}
}

static void
check_key(struct doctor *doc, const struct stepup_policy *policy,
	  const struct doctor_user *mail, unsigned int mail_count,
	  const char *mail_unknown)
{
	const char *path = stepup_policy_get_session_key_file(policy);
	struct stat st;
	unsigned int i;

	if (stat(path, &st) < 0) {
		report(doc, errno == ENOENT, "session key", t_strdup_printf(
			"%s: %s%s", path, strerror(errno), errno == ENOENT ?
			" (the auth process creates it at its first start, "
			"mode 0640: then chgrp it to the mail users' group)" :
			""), errno == ENOENT ? NULL : "see doc/admin-guide.md");
		return;
	}
	if (st.st_uid != 0 || (st.st_mode & 0022) != 0) {
		report(doc, FALSE, "session key", t_strdup_printf(
			"%s: owner uid %u, mode %04o", path,
			(unsigned int)st.st_uid,
			(unsigned int)(st.st_mode & 07777)), t_strdup_printf(
			"chown root %s; chmod go-w %s", path, path));
		return;
	}
	if (mail_unknown != NULL) {
		report(doc, TRUE, "session key", t_strdup_printf(
			"%s mode %04o; mail users not checked: %s", path,
			(unsigned int)(st.st_mode & 07777), mail_unknown),
			NULL);
		return;
	}
	for (i = 0; i < mail_count; i++) {
		if (mail[i].known && !user_can(&mail[i], path, R_OK)) {
			report(doc, FALSE, "session key", t_strdup_printf(
				"the mail processes (%s) cannot read %s: "
				"sessions get no level, guarded folders are "
				"refused", mail[i].name, path), t_strdup_printf(
				"chgrp %u %s; chmod 0640 %s",
				(unsigned int)mail[i].gid, path, path));
			return;
		}
	}
	report(doc, TRUE, "session key", t_strdup_printf(
		"%s readable by the mail processes", path), NULL);
}

static void
check_audit(struct doctor *doc, const struct stepup_policy *policy,
	    const struct doctor_user *writers, unsigned int count)
{
	const char *path = stepup_policy_get_audit_path(policy);
	const char *dir, *p;
	struct stat st;
	unsigned int i;

	if (path == NULL) {
		report(doc, FALSE, "audit log", "the policy has no audit.path: "
		       "no decision is recorded", "audit = { path = "
		       "\"/var/log/dovecot/stepup/audit.jsonl\"; };");
		return;
	}
	p = strrchr(path, '/');
	dir = p == path ? "/" : t_strdup_until(path, p);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		report(doc, FALSE, "audit log", t_strdup_printf(
			"%s does not exist: logins are refused", dir),
			t_strdup_printf("install -d -o %s -g %s -m 0700 %s",
					writers[0].name, writers[0].name, dir));
		return;
	}
	/* the writers open it as root when they start (the auth process,
	   the stepup-audit service, the stepup tool) */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		report(doc, FALSE, "audit log", t_strdup_printf(
			"%s is not a regular file", path), t_strdup_printf(
			"rm %s (it is created at the next start)", path));
		return;
	}
	for (i = 0; i < count; i++) {
		/* a directory they cannot write is only a problem when the
		   log is missing at their start */
		if (writers[i].known && stat(path, &st) < 0 &&
		    !user_can(&writers[i], dir, W_OK | X_OK)) {
			report(doc, TRUE, "audit log", t_strdup_printf(
				"%s does not exist yet; it is created when "
				"Dovecot starts (%s cannot create it later)",
				path, writers[i].name), NULL);
			return;
		}
	}
	report(doc, TRUE, "audit log", t_strdup_printf(
		"%s (opened as root by its writers at their start)", path),
		NULL);
}

/* Files no mail process may read (also with mail_access_groups): the audit
   log and its head (every user's decisions), the audit token key (with it
   a mail process could write records for any user). */
static void
check_private(struct doctor *doc, const char *name,
	      const char *const *paths, const struct doctor_user *mail,
	      unsigned int mail_count)
{
	const char *const *path;
	unsigned int i;
	struct stat st;

	for (path = paths; *path != NULL; path++) {
		if (stat(*path, &st) < 0)
			continue;
		for (i = 0; i < mail_count; i++) {
			if (!mail[i].known || !user_can(&mail[i], *path, R_OK))
				continue;
			report(doc, FALSE, name, t_strdup_printf(
				"the mail processes (%s%s%s) can read %s",
				mail[i].name, mail[i].extra_groups == NULL ?
				"" : ", mail_access_groups ",
				mail[i].extra_groups == NULL ? "" :
				mail[i].extra_groups, *path),
				t_strdup_printf("chmod 0600 %s; give the "
				"stepup-audit socket a group of its own "
				"(groupadd --system stepup-audit; "
				"mail_access_groups = stepup-audit, "
				"doc/admin-guide.md)", *path));
			return;
		}
	}
	report(doc, TRUE, name, t_strdup_printf(
		"%s: no mail process can read %s", name,
		t_strarray_join(paths, ", ")), NULL);
}

int cmd_doctor(struct stepup_cli *cli, int argc, char *argv[])
{
	const char *config = NULL, *mail_user = NULL, *policy_path, *error;
	const char *mail_unknown, *const *id;
	const struct stepup_cli_option opts[] = {
		{ "--dovecot-config", &config, NULL },
		{ "--mail-user", &mail_user, NULL },
		{ NULL, NULL, NULL }
	};
	const char *positional = NULL;
	ARRAY_TYPE(const_string) ids;
	ARRAY(struct doctor_user) mail;
	struct doctor_user auth, writers[2], u;
	struct doveconf_section *root;
	struct stepup_policy *policy;
	struct doctor doc;
	string_t *out;

	if (stepup_cli_parse_options(argc, argv, 1, opts, &positional) < 0 ||
	    positional != NULL)
		return stepup_cli_usage_error(DOCTOR_USAGE);
	i_zero(&doc);
	doc.cli = cli;
	doc.json = t_str_new(1024);
	str_append_c(doc.json, '[');
	if (geteuid() != 0) {
		fprintf(stderr, "stepup: doctor runs as root (it checks as "
			"each Dovecot process's user)\n");
		return STEPUP_EXIT_USAGE;
	}
	out = t_str_new(8192);
	if (doveconf_run(config, out, &error) < 0) {
		fprintf(stderr, "stepup: %s\n", error);
		return STEPUP_EXIT_USAGE;
	}
	root = doveconf_parse(pool_datastack_create(), str_c(out));

	policy_path = cli->policy_explicit ||
		doveconf_stepup_policy(root) == NULL ?
		cli->policy_path : doveconf_stepup_policy(root);

	(void)user_by_name(service_user(root, "auth"), &auth);
	writers[0] = auth;
	(void)user_by_name(service_user(root, "stepup-audit"), &writers[1]);
	t_array_init(&ids, 8);
	t_array_init(&mail, 8);
	mail_users(root, mail_user, &ids, &mail_unknown);
	array_foreach(&ids, id) {
		if (id_user(*id, &u)) {
			u.extra_groups = mail_access_groups(root);
			array_push_back(&mail, &u);
		}
	}

	check_chain(&doc, root);
	check_settings(&doc, root);
	if (stepup_policy_load(policy_path, &policy, &error) < 0) {
		report(&doc, FALSE, "policy", t_strdup_printf(
			"%s is not valid: %s", policy_path,
			t_strcut(error, '\n')), t_strdup_printf(
			"stepup policy check %s", policy_path));
	} else {
		struct doctor_user readers[MAX_MAIL_IDS + 1];
		const struct doctor_user *mu;
		unsigned int n = 0;

		readers[n++] = auth;
		array_foreach(&mail, mu) {
			if (n < N_ELEMENTS(readers))
				readers[n++] = *mu;
		}
		check_readable(&doc, "policy", policy_path, readers, n,
			       t_strdup_printf("chmod 0644 %s", policy_path));
		check_state(&doc, policy, &auth);
		mu = array_get(&mail, &n);
		check_key(&doc, policy, mu, n, mail_unknown);
		check_audit(&doc, policy, writers, N_ELEMENTS(writers));
		{
			const char *key = stepup_facts_audit_key_path(
				stepup_policy_get_session_key_file(policy));
			const char *log = stepup_policy_get_audit_path(policy);
			const char *files[] = {
				key, log,
				log == NULL ? NULL :
				t_strconcat(log, ".head", NULL), NULL
			};

			check_private(&doc, "private files", files, mu, n);
		}
		stepup_policy_unref(&policy);
	}
	if (cli->json) {
		printf("{\"ok\":%s,\"checks\":%s]}\n",
		       doc.failures == 0 ? "true" : "false", str_c(doc.json));
	} else if (doc.failures > 0) {
		printf("%u check(s) failed\n", doc.failures);
	}
	return doc.failures == 0 ? STEPUP_EXIT_OK : STEPUP_EXIT_REFUSED;
}
