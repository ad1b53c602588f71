/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "str.h"
#include "seq-range-array.h"
#include "read-aggregate.h"

#include <time.h>

/* one folder's reads of the current minute, past the session's limit */
struct read_folder {
	char *mailbox, *rule;
	time_t minute;
	ARRAY_TYPE(seq_range) uids;
	unsigned int count;
	uoff_t bytes;
};

struct read_session {
	char *key;
	/* identity of the session, as in its records */
	char *user, *session, *service, *ip, *auth;
	unsigned int count;	/* records of their own so far */
	time_t last;
	void *owner;
	ARRAY(struct read_folder *) folders;
};

struct stepup_read_agg {
	unsigned int max_sessions;
	stepup_read_agg_write_t *write;
	void *context;
	HASH_TABLE(char *, struct read_session *) sessions;
};

struct stepup_read_agg *
stepup_read_agg_init(unsigned int max_sessions,
		     stepup_read_agg_write_t *write, void *context)
{
	struct stepup_read_agg *agg;

	agg = i_new(struct stepup_read_agg, 1);
	agg->max_sessions = max_sessions;
	agg->write = write;
	agg->context = context;
	hash_table_create(&agg->sessions, default_pool, 0, str_hash, strcmp);
	return agg;
}

static void read_folder_free(struct read_folder *folder)
{
	array_free(&folder->uids);
	i_free(folder->mailbox);
	i_free(folder->rule);
	i_free(folder);
}

static void read_session_free(struct read_session *rs)
{
	struct read_folder *folder;

	array_foreach_elem(&rs->folders, folder)
		read_folder_free(folder);
	array_free(&rs->folders);
	i_free(rs->user);
	i_free(rs->session);
	i_free(rs->service);
	i_free(rs->ip);
	i_free(rs->auth);
	i_free(rs->key);
	i_free(rs);
}

static const char *uids_str(const ARRAY_TYPE(seq_range) *uids)
{
	const struct seq_range *range;
	string_t *str = t_str_new(128);

	array_foreach(uids, range) {
		if (str_len(str) > 0)
			str_append_c(str, ',');
		str_printfa(str, "%u", range->seq1);
		if (range->seq2 != range->seq1)
			str_printfa(str, ":%u", range->seq2);
	}
	return str_c(str);
}

static const char *minute_str(time_t minute)
{
	struct tm *tm = gmtime(&minute);
	char buf[32];

	if (tm == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%MZ",
				   tm) == 0)
		return "?";
	return t_strdup(buf);
}

/* write the folder's aggregate and empty it */
static int read_folder_write(struct stepup_read_agg *agg,
			     struct read_session *rs,
			     struct read_folder *folder, const char **error_r)
{
	struct stepup_audit_record rec;
	int ret;

	if (folder->count == 0)
		return 0;
	i_zero(&rec);
	rec.event = "read";
	rec.user = rs->user;
	rec.session = rs->session;
	rec.service = rs->service;
	rec.ip = rs->ip;
	rec.auth = rs->auth;
	rec.mailbox = folder->mailbox;
	rec.rule = folder->rule;
	rec.decision = "allow";
	rec.count = folder->count;
	rec.size = folder->bytes;
	T_BEGIN {
		rec.uids = uids_str(&folder->uids);
		rec.reason = t_strdup_printf("%u message bodies read in the "
			"minute %s (past audit.reads_per_session: aggregated)",
			folder->count, minute_str(folder->minute));
		ret = agg->write(&rec, agg->context, error_r);
		if (ret < 0)
			*error_r = t_strdup(*error_r);
	} T_END_PASS_STR_IF(ret < 0, error_r);
	array_clear(&folder->uids);
	folder->count = 0;
	folder->bytes = 0;
	return ret;
}

static struct read_session *
read_session_get(struct stepup_read_agg *agg,
		 const struct stepup_audit_record *rec)
{
	struct read_session *rs;
	const char *key;

	key = t_strdup_printf("%s\t%s\t%s\t%s", rec->user,
			      rec->session == NULL ? "" : rec->session,
			      rec->service == NULL ? "" : rec->service,
			      rec->ip == NULL ? "" : rec->ip);
	rs = hash_table_lookup(agg->sessions, key);
	if (rs != NULL ||
	    hash_table_count(agg->sessions) >= agg->max_sessions)
		return rs;
	rs = i_new(struct read_session, 1);
	rs->key = i_strdup(key);
	rs->user = i_strdup(rec->user);
	rs->session = i_strdup(rec->session);
	rs->service = i_strdup(rec->service);
	rs->ip = i_strdup(rec->ip);
	rs->auth = i_strdup(rec->auth);
	i_array_init(&rs->folders, 4);
	hash_table_insert(agg->sessions, rs->key, rs);
	return rs;
}

static struct read_folder *
read_folder_get(struct read_session *rs, const char *mailbox,
		const char *rule)
{
	struct read_folder *folder;

	array_foreach_elem(&rs->folders, folder) {
		if (strcmp(folder->mailbox, mailbox) == 0)
			return folder;
	}
	folder = i_new(struct read_folder, 1);
	folder->mailbox = i_strdup(mailbox);
	folder->rule = i_strdup(rule);
	i_array_init(&folder->uids, 8);
	array_push_back(&rs->folders, &folder);
	return folder;
}

int stepup_read_agg_add(struct stepup_read_agg *agg,
			const struct stepup_audit_record *rec,
			unsigned int reads_per_session, time_t now,
			void *owner, const char **error_r)
{
	struct read_session *rs;
	struct read_folder *folder;
	time_t minute = now - now % 60;

	i_assert(rec->user != NULL && rec->mailbox != NULL);
	rs = read_session_get(agg, rec);
	if (rs == NULL)
		return agg->write(rec, agg->context, error_r);
	rs->last = now;
	rs->owner = owner;
	if (rs->count < reads_per_session) {
		rs->count++;
		return agg->write(rec, agg->context, error_r);
	}
	folder = read_folder_get(rs, rec->mailbox, rec->rule);
	if (folder->count > 0 &&
	    (folder->minute != minute ||
	     array_count(&folder->uids) >= STEPUP_READ_AGG_MAX_RANGES)) {
		if (read_folder_write(agg, rs, folder, error_r) < 0)
			return -1;
	}
	if (folder->count == 0)
		folder->minute = minute;
	if (rec->uid != 0 && !seq_range_exists(&folder->uids, rec->uid))
		seq_range_array_add(&folder->uids, rec->uid);
	folder->count++;
	folder->bytes += rec->size;
	return 0;
}

int stepup_read_agg_flush(struct stepup_read_agg *agg, time_t now, bool all,
			  const char **error_r)
{
	struct hash_iterate_context *iter;
	struct read_session *rs;
	struct read_folder *folder;
	ARRAY(struct read_session *) idle;
	time_t minute = now - now % 60;
	char *key;
	const char *error;
	int ret = 0;

	i_array_init(&idle, 16);
	iter = hash_table_iterate_init(agg->sessions);
	while (hash_table_iterate(iter, agg->sessions, &key, &rs)) {
		array_foreach_elem(&rs->folders, folder) {
			if (folder->count == 0 ||
			    (!all && folder->minute >= minute))
				continue;
			if (read_folder_write(agg, rs, folder, &error) < 0 &&
			    ret == 0) {
				*error_r = t_strdup(error);
				ret = -1;
			}
		}
		if (all || rs->last + STEPUP_READ_AGG_SESSION_IDLE_SECS <= now)
			array_push_back(&idle, &rs);
	}
	hash_table_iterate_deinit(&iter);
	array_foreach_elem(&idle, rs) {
		bool open = FALSE;

		/* an aggregate still open keeps its session */
		array_foreach_elem(&rs->folders, folder)
			open = open || folder->count > 0;
		if (open)
			continue;
		hash_table_remove(agg->sessions, rs->key);
		read_session_free(rs);
	}
	array_free(&idle);
	return ret < 0 ? -1 : (int)hash_table_count(agg->sessions);
}

int stepup_read_agg_flush_owner(struct stepup_read_agg *agg, void *owner,
				const char **error_r)
{
	struct hash_iterate_context *iter;
	struct read_session *rs;
	struct read_folder *folder;
	ARRAY(struct read_session *) gone;
	const char *error;
	char *key;
	int ret = 0;

	i_array_init(&gone, 4);
	iter = hash_table_iterate_init(agg->sessions);
	while (hash_table_iterate(iter, agg->sessions, &key, &rs)) {
		if (rs->owner != owner)
			continue;
		array_foreach_elem(&rs->folders, folder) {
			if (read_folder_write(agg, rs, folder, &error) < 0 &&
			    ret == 0) {
				*error_r = t_strdup(error);
				ret = -1;
			}
		}
		array_push_back(&gone, &rs);
	}
	hash_table_iterate_deinit(&iter);
	array_foreach_elem(&gone, rs) {
		hash_table_remove(agg->sessions, rs->key);
		read_session_free(rs);
	}
	array_free(&gone);
	return ret;
}

void stepup_read_agg_deinit(struct stepup_read_agg **_agg)
{
	struct stepup_read_agg *agg = *_agg;
	const char *error;

	*_agg = NULL;
	if (stepup_read_agg_flush(agg, time(NULL), TRUE, &error) < 0)
		i_error("stepup-audit: reads not recorded: %s", error);
	hash_table_destroy(&agg->sessions);
	i_free(agg);
}
