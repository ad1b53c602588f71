/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup audit report --reads [FILE...] [--user U] [--mailbox M]
   [--since T] [--json | --csv]: per session, the folders opened and the
   messages read (audit/audit-reads.h). */

#include "lib.h"
#include "stepup-compat.h"
#include "array.h"
#include "str.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "audit-reads.h"
#include "cmd-audit.h"

#include <stdio.h>

static int reads_line(const char *line, bool intact ATTR_UNUSED,
		      const char *file ATTR_UNUSED,
		      unsigned int lineno ATTR_UNUSED, void *context)
{
	struct stepup_reads_report *report = context;
	struct stepup_audit_entry entry;
	const char *error;

	if (stepup_audit_parse_entry(line, &entry, &error) == 0)
		stepup_reads_report_add(report, &entry);
	return 0;
}

static void text_session(const struct stepup_reads_session *s)
{
	const struct stepup_reads_folder *f;
	const struct stepup_reads_message *m;
	string_t *str = t_str_new(256);

	printf("session %s %s from %s (%s, auth=%s, login %s)\n",
	       cmd_audit_field(s->session, "-"), cmd_audit_field(s->user, "-"),
	       cmd_audit_field(s->ip, "-"), cmd_audit_field(s->service, "-"),
	       cmd_audit_field(s->auth, "none"),
	       cmd_audit_field(s->login_ts, "not in the files"));
	array_foreach(&s->folders, f) {
		str_printfa(str, "%s%s (%s%u message%s)", str_len(str) == 0 ?
			    "" : ", ", cmd_audit_field(f->mailbox, "-"),
			    f->opened ? "opened, " : "", f->messages,
			    f->messages == 1 ? "" : "s");
	}
	printf("  folders: %s\n", str_c(str));
	array_foreach(&s->messages, m) {
		if (m->uid != 0) {
			printf("  %s %s UID %u %s %"PRIuUOFF_T" bytes (%s)\n",
			       m->ts, cmd_audit_field(m->mailbox, "-"), m->uid,
			       cmd_audit_field(m->message_id, "(no Message-ID)"),
			       m->size, cmd_audit_field(m->how, "read"));
		} else {
			printf("  %s %s %u messages UIDs %s %"PRIuUOFF_T
			       " bytes (aggregated)\n", m->ts,
			       cmd_audit_field(m->mailbox, "-"), m->count,
			       cmd_audit_field(m->uids, "-"), m->size);
		}
	}
	printf("  %u folder%s, %u message%s, %"PRIuUOFF_T" bytes\n",
	       array_count(&s->folders), array_count(&s->folders) == 1 ?
	       "" : "s", s->message_count, s->message_count == 1 ? "" : "s",
	       s->bytes);
}

static void json_kv(string_t *out, const char *key, const char *value)
{
	str_printfa(out, "\"%s\":%s", key, value == NULL ? "null" :
		    stepup_cli_json_str(value));
}

static void json_session(string_t *out, const struct stepup_reads_session *s)
{
	const struct stepup_reads_folder *f;
	const struct stepup_reads_message *m;

	str_append_c(out, '{');
	json_kv(out, "user", s->user);
	str_append_c(out, ',');
	json_kv(out, "session", s->session);
	str_append_c(out, ',');
	json_kv(out, "ip", s->ip);
	str_append_c(out, ',');
	json_kv(out, "service", s->service);
	str_append_c(out, ',');
	json_kv(out, "auth", s->auth);
	str_append_c(out, ',');
	json_kv(out, "login", s->login_ts);
	str_append(out, ",\"folders\":[");
	array_foreach(&s->folders, f) {
		if (f != array_front(&s->folders))
			str_append_c(out, ',');
		str_append_c(out, '{');
		json_kv(out, "mailbox", f->mailbox);
		str_printfa(out, ",\"opened\":%s,\"messages\":%u}",
			    f->opened ? "true" : "false", f->messages);
	}
	str_append(out, "],\"messages\":[");
	array_foreach(&s->messages, m) {
		if (m != array_front(&s->messages))
			str_append_c(out, ',');
		str_append_c(out, '{');
		json_kv(out, "ts", m->ts);
		str_append_c(out, ',');
		json_kv(out, "mailbox", m->mailbox);
		if (m->uid != 0) {
			str_printfa(out, ",\"uid\":%u,", m->uid);
			json_kv(out, "message_id", m->message_id);
			str_append_c(out, ',');
			json_kv(out, "how", m->how);
		} else {
			str_printfa(out, ",\"count\":%u,", m->count);
			json_kv(out, "uids", m->uids);
		}
		str_printfa(out, ",\"size\":%"PRIuUOFF_T"}", m->size);
	}
	str_printfa(out, "],\"message_count\":%u,\"bytes\":%"PRIuUOFF_T"}",
		    s->message_count, s->bytes);
}

/* a CSV field: quoted when needed; a leading = + - @ (a formula to a
   spreadsheet) gets a ' in front: the log holds what clients sent */
static void csv_field(string_t *out, const char *value, bool last)
{
	const char *p;

	if (value == NULL)
		value = "";
	if (strchr("=+-@\t\r", value[0]) != NULL && value[0] != '\0')
		value = t_strconcat("'", value, NULL);
	if (strpbrk(value, ",\"\r\n") == NULL)
		str_append(out, value);
	else {
		str_append_c(out, '"');
		for (p = value; *p != '\0'; p++) {
			if (*p == '"')
				str_append_c(out, '"');
			str_append_c(out, *p);
		}
		str_append_c(out, '"');
	}
	str_append(out, last ? "\r\n" : ",");
}

static void csv_session(const struct stepup_reads_session *s)
{
	const struct stepup_reads_message *m;
	string_t *out = t_str_new(256);

	array_foreach(&s->messages, m) {
		str_truncate(out, 0);
		csv_field(out, s->session, FALSE);
		csv_field(out, s->user, FALSE);
		csv_field(out, s->ip, FALSE);
		csv_field(out, s->service, FALSE);
		csv_field(out, s->auth, FALSE);
		csv_field(out, s->login_ts, FALSE);
		csv_field(out, m->ts, FALSE);
		csv_field(out, m->mailbox, FALSE);
		csv_field(out, m->uid == 0 ? NULL : dec2str(m->uid), FALSE);
		csv_field(out, m->message_id, FALSE);
		csv_field(out, dec2str(m->size), FALSE);
		csv_field(out, m->how, FALSE);
		csv_field(out, dec2str(m->count), FALSE);
		csv_field(out, m->uids, TRUE);
		fputs(str_c(out), stdout);
	}
}

int cmd_audit_report_reads(struct stepup_cli *cli, const char *const *paths,
			   const struct stepup_audit_filter *filter, bool csv)
{
	struct stepup_reads_report *report;
	const struct stepup_reads_session *const *sessions;
	const char *verify_error;
	unsigned int i, count, records, messages = 0;
	uoff_t bytes = 0;
	string_t *out;
	int ret;

	report = stepup_reads_report_init(filter);
	ret = cmd_audit_read(paths, reads_line, report, &verify_error,
			     &records);
	if (ret != STEPUP_EXIT_OK) {
		stepup_reads_report_deinit(&report);
		return ret;
	}
	sessions = stepup_reads_report_sessions(report, &count);
	if (csv) {
		printf("session,user,ip,service,auth,login,ts,mailbox,uid,"
		       "message_id,size,how,count,uids\r\n");
	} else if (cli->json) {
		printf("{\"files\":%s,\"sessions\":[",
		       cmd_audit_paths_json(paths));
	}
	for (i = 0; i < count; i++) {
		messages += sessions[i]->message_count;
		bytes += sessions[i]->bytes;
		T_BEGIN {
			if (csv)
				csv_session(sessions[i]);
			else if (cli->json) {
				out = t_str_new(1024);
				if (i > 0)
					str_append_c(out, ',');
				json_session(out, sessions[i]);
				fputs(str_c(out), stdout);
			} else {
				text_session(sessions[i]);
			}
		} T_END;
	}
	if (cli->json && !csv) {
		printf("],\"session_count\":%u,\"message_count\":%u,"
		       "\"bytes\":%"PRIuUOFF_T, count, messages, bytes);
	} else if (!csv) {
		printf("%u session%s, %u message%s, %"PRIuUOFF_T" bytes\n",
		       count, count == 1 ? "" : "s", messages,
		       messages == 1 ? "" : "s", bytes);
	}
	stepup_reads_report_deinit(&report);
	return cmd_audit_finish(cli->json && !csv, verify_error, records,
				STEPUP_EXIT_OK);
}
