/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "str.h"
#include "seq-range-array.h"
#include "mail-storage-private.h"
#include "audit-proto.h"
#include "stepup-audit-client.h"
#include "stepup-reads.h"

struct stepup_reads {
	pool_t pool;
	/* folder name -> UIDs already recorded in this session */
	HASH_TABLE(char *, ARRAY_TYPE(seq_range) *) folders;
	/* getting a message's Message-ID or size may read it: not again */
	bool recording;
};

struct stepup_reads *stepup_reads_init(void)
{
	struct stepup_reads *reads;
	pool_t pool;

	pool = pool_alloconly_create("stepup reads", 1024);
	reads = p_new(pool, struct stepup_reads, 1);
	reads->pool = pool;
	hash_table_create(&reads->folders, pool, 0, str_hash, strcmp);
	return reads;
}

void stepup_reads_deinit(struct stepup_reads **_reads)
{
	struct stepup_reads *reads = *_reads;
	struct hash_iterate_context *iter;
	ARRAY_TYPE(seq_range) *uids;
	char *name;

	if (reads == NULL)
		return;
	*_reads = NULL;
	iter = hash_table_iterate_init(reads->folders);
	while (hash_table_iterate(iter, reads->folders, &name, &uids))
		array_free(uids);
	hash_table_iterate_deinit(&iter);
	hash_table_destroy(&reads->folders);
	pool_unref(&reads->pool);
}

static ARRAY_TYPE(seq_range) *
reads_folder(struct stepup_reads *reads, const char *name)
{
	ARRAY_TYPE(seq_range) *uids;

	uids = hash_table_lookup(reads->folders, name);
	if (uids == NULL) {
		uids = p_new(reads->pool, ARRAY_TYPE(seq_range), 1);
		i_array_init(uids, 8);
		hash_table_insert(reads->folders, p_strdup(reads->pool, name),
				  uids);
	}
	return uids;
}

/* the Message-ID as the log may hold it: printable, bounded */
static const char *message_id(struct mail *mail)
{
	const char *value;
	string_t *str;
	size_t i;

	if (mail_get_first_header(mail, "Message-ID", &value) <= 0)
		return NULL;
	str = t_str_new(64);
	for (i = 0; value[i] != '\0' &&
	     str_len(str) < STEPUP_AUDIT_MESSAGE_ID_MAX; i++) {
		unsigned char c = value[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		str_append_c(str, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
	return str_len(str) == 0 ? NULL : str_c(str);
}

bool stepup_reads_stream_is_read(const char *reason)
{
	static const char *const internal[] = {
		"size", "mime parts", "bodystructure", "snippet", "search",
		"precache",
		/* IMAP's prefetch: the FETCH that gives the body asks again */
		"prefetch", NULL
	};
	unsigned int i;

	if (reason == NULL)
		return TRUE;
	for (i = 0; internal[i] != NULL; i++) {
		if (strstr(reason, internal[i]) != NULL)
			return FALSE;
	}
	return TRUE;
}

int stepup_reads_record(struct stepup_reads *reads,
			struct stepup_audit_client *client,
			const struct stepup_audit_record *who,
			struct mail *mail, const char *rule, const char *how,
			const char **error_r)
{
	struct stepup_audit_record rec;
	ARRAY_TYPE(seq_range) *uids;
	uoff_t size;
	int ret;

	if (reads->recording || mail->uid == 0)
		return 0;
	uids = reads_folder(reads, mail->box->vname);
	if (seq_range_exists(uids, mail->uid))
		return 0;

	rec = *who;
	rec.event = "read";
	rec.mailbox = mail->box->vname;
	rec.rule = rule;
	rec.decision = "allow";
	rec.reason = how;
	rec.uid = mail->uid;
	reads->recording = TRUE;
	rec.message_id = message_id(mail);
	if (mail_get_physical_size(mail, &size) < 0)
		size = 0;
	reads->recording = FALSE;
	rec.size = size;
	ret = stepup_audit_client_read(client, &rec, error_r);
	if (ret == 0)
		seq_range_array_add(uids, mail->uid);
	return ret;
}
