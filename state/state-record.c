/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The versioned text form of one user's record:

     stepup-state<TAB>1
     user<TAB>NAME
     totp<TAB>ALG<TAB>DIGITS<TAB>PERIOD<TAB>BASE32-SECRET<TAB>ENROLLED-AT
     last<TAB>LAST-COUNTER<TAB>LAST-USED
     fail<TAB>FAILURES<TAB>LOCKED-UNTIL
     recovery<TAB>SALT<TAB>HASH...
     app<TAB>LABEL<TAB>CRYPT<TAB>CREATED<TAB>EXPIRES<TAB>NETS<TAB>PROTOS<TAB>LAST-USED<TAB>LAST-IP
     grant<TAB>HMAC<TAB>IP<TAB>CREATED<TAB>LAST-USED
     invite<TAB>SHA256<TAB>CREATED<TAB>EXPIRES<TAB>USED
     approval<TAB>grant|pending<TAB>MAILBOX<TAB>SCOPE<TAB>SCOPE-VALUE<TAB>REQUEST-ID<TAB>CODE<TAB>CREATED<TAB>EXPIRES<TAB>APPROVER[<TAB>BODY]

   Values are tab-escaped. Anything else is corrupt. */

#include "lib.h"
#include "stepup-compat.h"
#include "str.h"
#include "strnum.h"
#include "strescape.h"
#include "safe-memset.h"
#include "stepup-totp.h"
#include "state-private.h"

#define STATE_MAGIC "stepup-state"
#define STATE_VERSION "1"

void state_record_init(struct state_record *rec, const char *user)
{
	i_zero(rec);
	rec->user = user;
	rec->secret = t_buffer_create(64);
	t_array_init(&rec->recovery, STEPUP_RECOVERY_CODES);
	t_array_init(&rec->apps, 4);
	t_array_init(&rec->grants, 4);
	rec->invite.hash = "";
	t_array_init(&rec->approvals, 4);
}

bool state_record_is_empty(const struct state_record *rec)
{
	return !rec->enrolled && array_count(&rec->apps) == 0 &&
		array_count(&rec->grants) == 0 && rec->invite.hash[0] == '\0' &&
		array_count(&rec->approvals) == 0 &&
		rec->failures == 0 && rec->locked_until == 0;
}

void state_buffer_wipe(buffer_t *buf)
{
	safe_memset(buffer_get_modifiable_data(buf, NULL), 0, buf->used);
	buffer_set_used_size(buf, 0);
}

void state_record_wipe(struct state_record *rec)
{
	state_buffer_wipe(rec->secret);
}

static int parse_time(const char *str, time_t *t_r)
{
	int64_t v;

	if (str_to_int64(str, &v) < 0 || v < 0)
		return -1;
	*t_r = (time_t)v;
	return 0;
}

static int
parse_line(struct state_record *rec, const char *const *f, unsigned int n,
	   const char **error_r)
{
	const char *name = f[0];

	if (strcmp(name, "user") == 0 && n == 2) {
		if (strcmp(f[1], rec->user) != 0) {
			*error_r = "record belongs to another user";
			return -1;
		}
		return 0;
	}
	if (strcmp(name, "totp") == 0 && n == 6) {
		if (stepup_totp_algorithm_parse(f[1], &rec->algorithm) < 0 ||
		    str_to_uint(f[2], &rec->digits) < 0 ||
		    (rec->digits != 6 && rec->digits != 8) ||
		    str_to_uint(f[3], &rec->period) < 0 || rec->period == 0 ||
		    stepup_base32_decode(f[4], rec->secret) < 0 ||
		    rec->secret->used < STEPUP_TOTP_SECRET_MIN ||
		    rec->secret->used > STEPUP_TOTP_SECRET_MAX ||
		    parse_time(f[5], &rec->enrolled_at) < 0)
			return -1;
		rec->enrolled = TRUE;
		return 0;
	}
	if (strcmp(name, "last") == 0 && n == 3) {
		return str_to_uint64(f[1], &rec->last_counter) < 0 ||
			parse_time(f[2], &rec->last_used) < 0 ? -1 : 0;
	}
	if (strcmp(name, "fail") == 0 && n == 3) {
		return str_to_uint(f[1], &rec->failures) < 0 ||
			parse_time(f[2], &rec->locked_until) < 0 ? -1 : 0;
	}
	if (strcmp(name, "recovery") == 0 && n >= 2 &&
	    n <= 2 + STEPUP_RECOVERY_CODES) {
		unsigned int i;

		rec->recovery_salt = f[1];
		for (i = 2; i < n; i++) {
			if (strlen(f[i]) != 64)
				return -1;
			array_push_back(&rec->recovery, &f[i]);
		}
		return 0;
	}
	if (strcmp(name, "grant") == 0 && n == 5) {
		struct state_grant *grant = array_append_space(&rec->grants);

		grant->hash = f[1];
		grant->ip = f[2];
		return strlen(grant->hash) != 64 ||
			parse_time(f[3], &grant->created) < 0 ||
			parse_time(f[4], &grant->last_used) < 0 ? -1 : 0;
	}
	if (strcmp(name, "invite") == 0 && n == 5) {
		rec->invite.hash = f[1];
		return strlen(f[1]) != 64 ||
			parse_time(f[2], &rec->invite.created) < 0 ||
			parse_time(f[3], &rec->invite.expires) < 0 ||
			parse_time(f[4], &rec->invite.used) < 0 ? -1 : 0;
	}
	if (strcmp(name, "approval") == 0 && (n == 10 || n == 11)) {
		struct stepup_approval_entry *e =
			array_append_space(&rec->approvals);

		return state_approval_entry_parse(f + 1, n - 1, e);
	}
	if (strcmp(name, "app") == 0 && n == 9) {
		struct state_app *app = array_append_space(&rec->apps);

		app->label = f[1];
		app->hash = f[2];
		app->networks = f[5];
		app->protocols = f[6];
		app->last_ip = f[8];
		return parse_time(f[3], &app->created) < 0 ||
			parse_time(f[4], &app->expires) < 0 ||
			parse_time(f[7], &app->last_used) < 0 ||
			app->label[0] == '\0' || app->hash[0] != '$' ? -1 : 0;
	}
	return -1;
}

int state_record_parse(const char *text, const char *user,
		       struct state_record *rec, const char **error_r)
{
	const char *const *lines, *const *f;
	unsigned int i, n;
	bool have_user = FALSE;

	state_record_init(rec, user);
	*error_r = NULL;
	lines = t_strsplit(text, "\n");
	if (lines[0] == NULL || strcmp(lines[0], STATE_MAGIC "\t"
				       STATE_VERSION) != 0) {
		*error_r = str_begins_with(text, STATE_MAGIC "\t") ?
			"unknown record version" : "not a state record";
		return -1;
	}
	for (i = 1; lines[i] != NULL; i++) {
		if (lines[i][0] == '\0' && lines[i + 1] == NULL)
			break;	/* the final newline */
		f = t_strsplit_tabescaped(lines[i]);
		n = str_array_length(f);
		if (n == 0 || parse_line(rec, f, n, error_r) < 0) {
			if (*error_r == NULL || n == 0 ||
			    strcmp(f[0], "user") != 0)
				*error_r = t_strdup_printf(
					"corrupt record (line %u)", i + 1);
			state_record_wipe(rec);
			return -1;
		}
		if (strcmp(f[0], "user") == 0)
			have_user = TRUE;
	}
	if (!have_user) {
		*error_r = "corrupt record (no user)";
		state_record_wipe(rec);
		return -1;
	}
	return 0;
}

string_t *state_record_format(const struct state_record *rec)
{
	string_t *str = t_str_new(512);
	const struct state_app *app;
	const struct state_grant *grant;
	const char *const *h;

	str_append(str, STATE_MAGIC "\t" STATE_VERSION "\n");
	str_printfa(str, "user\t%s\n", str_tabescape(rec->user));
	if (rec->enrolled) {
		str_printfa(str, "totp\t%s\t%u\t%u\t%s\t%ld\n",
			    stepup_totp_algorithm_to_str(rec->algorithm),
			    rec->digits, rec->period,
			    stepup_base32_encode(rec->secret->data,
						 rec->secret->used),
			    (long)rec->enrolled_at);
		str_printfa(str, "last\t%llu\t%ld\n",
			    (unsigned long long)rec->last_counter,
			    (long)rec->last_used);
		if (rec->recovery_salt != NULL) {
			str_printfa(str, "recovery\t%s", rec->recovery_salt);
			array_foreach(&rec->recovery, h)
				str_printfa(str, "\t%s", *h);
			str_append_c(str, '\n');
		}
	}
	str_printfa(str, "fail\t%u\t%ld\n", rec->failures,
		    (long)rec->locked_until);
	array_foreach(&rec->apps, app) {
		str_printfa(str, "app\t%s\t%s\t%ld\t%ld\t%s\t%s\t%ld\t%s\n",
			    str_tabescape(app->label), str_tabescape(app->hash),
			    (long)app->created, (long)app->expires,
			    str_tabescape(app->networks),
			    str_tabescape(app->protocols),
			    (long)app->last_used, str_tabescape(app->last_ip));
	}
	array_foreach(&rec->grants, grant) {
		str_printfa(str, "grant\t%s\t%s\t%ld\t%ld\n", grant->hash,
			    str_tabescape(grant->ip), (long)grant->created,
			    (long)grant->last_used);
	}
	if (rec->invite.hash[0] != '\0') {
		str_printfa(str, "invite\t%s\t%ld\t%ld\t%ld\n",
			    rec->invite.hash, (long)rec->invite.created,
			    (long)rec->invite.expires, (long)rec->invite.used);
	}
	state_approval_entries_format(str, &rec->approvals);
	return str;
}
