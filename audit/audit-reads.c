/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "audit-reads.h"

/* what the login record of a session said, kept until the session opens
   or reads something */
struct login_info {
	const char *ip, *service, *auth, *ts;
};

struct stepup_reads_report {
	pool_t pool;
	struct stepup_audit_filter filter;
	/* user\tsession -> its login (sessions of the filtered user only) */
	HASH_TABLE(char *, struct login_info *) logins;
	HASH_TABLE(char *, struct stepup_reads_session *) sessions;
	ARRAY(struct stepup_reads_session *) order;
};

struct stepup_reads_report *
stepup_reads_report_init(const struct stepup_audit_filter *filter)
{
	struct stepup_reads_report *report;
	pool_t pool;

	pool = pool_alloconly_create("stepup reads report", 16384);
	report = p_new(pool, struct stepup_reads_report, 1);
	report->pool = pool;
	report->filter.since = p_strdup(pool, filter->since);
	report->filter.user = p_strdup(pool, filter->user);
	report->filter.mailbox = p_strdup(pool, filter->mailbox);
	hash_table_create(&report->logins, pool, 0, str_hash, strcmp);
	hash_table_create(&report->sessions, pool, 0, str_hash, strcmp);
	p_array_init(&report->order, pool, 16);
	return report;
}

void stepup_reads_report_deinit(struct stepup_reads_report **_report)
{
	struct stepup_reads_report *report = *_report;

	*_report = NULL;
	hash_table_destroy(&report->logins);
	hash_table_destroy(&report->sessions);
	pool_unref(&report->pool);
}

static void add_login(struct stepup_reads_report *report, const char *key,
		      const struct stepup_audit_entry *e)
{
	const struct stepup_audit_record *r = &e->rec;
	struct login_info *login;

	if (null_strcmp(r->decision, "allow") != 0)
		return;
	login = hash_table_lookup(report->logins, key);
	if (login == NULL) {
		login = p_new(report->pool, struct login_info, 1);
		hash_table_insert(report->logins,
				  p_strdup(report->pool, key), login);
	}
	/* the last allow of a login is its level (stage 2 after stage 1) */
	login->ip = p_strdup(report->pool, r->ip);
	login->service = p_strdup(report->pool, r->service);
	login->auth = p_strdup(report->pool, r->auth);
	if (login->ts == NULL)
		login->ts = p_strdup(report->pool, e->ts);
}

static struct stepup_reads_session *
session_get(struct stepup_reads_report *report, const char *key,
	    const struct stepup_audit_entry *e)
{
	const struct stepup_audit_record *r = &e->rec;
	struct stepup_reads_session *s;
	struct login_info *login;
	pool_t pool = report->pool;

	s = hash_table_lookup(report->sessions, key);
	if (s != NULL)
		return s;
	s = p_new(pool, struct stepup_reads_session, 1);
	s->user = p_strdup(pool, r->user);
	s->session = p_strdup(pool, r->session);
	login = hash_table_lookup(report->logins, key);
	s->ip = p_strdup(pool, login != NULL && login->ip != NULL ?
			 login->ip : r->ip);
	s->service = p_strdup(pool, login != NULL && login->service != NULL ?
			      login->service : r->service);
	s->auth = p_strdup(pool, login != NULL && login->auth != NULL ?
			   login->auth : r->auth);
	s->login_ts = login == NULL ? NULL : login->ts;
	p_array_init(&s->folders, pool, 4);
	p_array_init(&s->messages, pool, 8);
	hash_table_insert(report->sessions, p_strdup(pool, key), s);
	array_push_back(&report->order, &s);
	return s;
}

static struct stepup_reads_folder *
folder_get(struct stepup_reads_report *report, struct stepup_reads_session *s,
	   const char *mailbox)
{
	struct stepup_reads_folder *f;

	array_foreach_modifiable(&s->folders, f) {
		if (strcmp(f->mailbox, mailbox) == 0)
			return f;
	}
	f = array_append_space(&s->folders);
	f->mailbox = p_strdup(report->pool, mailbox);
	return f;
}

void stepup_reads_report_add(struct stepup_reads_report *report,
			     const struct stepup_audit_entry *e)
{
	const struct stepup_audit_record *r = &e->rec;
	struct stepup_audit_filter filter = report->filter;
	struct stepup_reads_session *s;
	struct stepup_reads_folder *f;
	struct stepup_reads_message *m;
	const char *key;

	if (r->user == NULL || r->session == NULL ||
	    (filter.user != NULL && strcmp(r->user, filter.user) != 0))
		return;
	key = t_strdup_printf("%s\t%s", r->user, r->session);
	if (strcmp(r->event, "login") == 0) {
		/* a login before --since still names its session */
		add_login(report, key, e);
		return;
	}
	if (strcmp(r->event, "read") != 0 &&
	    (strcmp(r->event, "open") != 0 ||
	     null_strcmp(r->decision, "allow") != 0))
		return;
	filter.user = NULL;
	filter.event = NULL;
	if (!stepup_audit_filter_match(&filter, e))
		return;
	s = session_get(report, key, e);
	f = folder_get(report, s, r->mailbox);
	if (strcmp(r->event, "open") == 0) {
		f->opened = TRUE;
		return;
	}
	m = array_append_space(&s->messages);
	m->ts = p_strdup(report->pool, e->ts);
	m->mailbox = f->mailbox;
	m->message_id = p_strdup(report->pool, r->message_id);
	m->how = p_strdup(report->pool, r->count > 0 ? NULL : r->reason);
	m->uid = r->uid;
	m->uids = p_strdup(report->pool, r->uids);
	m->count = r->count > 0 ? r->count : 1;
	m->size = r->size;
	f->messages += m->count;
	s->message_count += m->count;
	s->bytes += r->size;
}

const struct stepup_reads_session *const *
stepup_reads_report_sessions(struct stepup_reads_report *report,
			     unsigned int *count_r)
{
	return (const struct stepup_reads_session *const *)
		array_get(&report->order, count_r);
}
