/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup-audit: a Dovecot service that appends the mail processes' folder
   decisions and message reads to the audit log, and keeps the
   fetch_limit counters and the read aggregates (audit/read-aggregate.h)
   of every mail process on the host; every audit.anchor_interval it logs
   the latest hash. Mail processes run as the mail users and
   must not be able to rewrite the log: they only reach this service's
   socket (audit/audit-proto.h) and it alone holds the file open.

   service stepup-audit {
     executable = stepup-audit [POLICY]
     user = $default_internal_user
     process_limit = 1          # one set of fetch_limit counters
     client_limit = 10000       # one connection per mail process
     unix_listener stepup-audit {
       mode = 0660
       group = $default_internal_group
     }
   }

   The log is opened as root before privileges are dropped; a change of
   audit.path takes effect when Dovecot restarts the service (doveadm
   reload). */

#include "lib.h"
#include "ioloop.h"
#include "llist.h"
#include "istream.h"
#include "ostream.h"
#include "str-sanitize.h"
#include "buffer.h"
#include "safe-memset.h"
#include "restrict-access.h"
#include "master-service.h"
#include "stepup-config.h"
#include "stepup-policy.h"
#include "stepup-audit.h"
#include "audit-proto.h"
#include "fetch-limit.h"
#include "stepup-facts.h"
#include "stepup-event.h"
#include "read-aggregate.h"
#include "audit-verify.h"
#include "stepup-approval.h"

#include <sys/time.h>

/* a request is one record: a 4 KiB mailbox name, escaped, and a reason */
#define AUDIT_CLIENT_MAX_LINE (32 * 1024)

struct audit_client {
	struct audit_client *prev, *next;
	int fd;
	struct io *io;
	struct istream *input;
	struct ostream *output;
	/* the session this connection speaks for (its first line, "hello"
	   with the audit token the passdb made); NULL = unbound */
	char *user, *session;
	bool had_request;
	/* fetch_limit reads granted on this connection and not given back:
	   a release may give back no more */
	unsigned int leased;
	/* an approval this connection waits for (nothing else is asked on
	   it meanwhile) */
	struct approval_waiter *waiter;
};

#define FETCH_EXPIRE_INTERVAL_MSECS (60 * 1000)
/* read aggregates are written soon after their minute ends */
#define READ_FLUSH_INTERVAL_MSECS (10 * 1000)

/* the category and "stepup-audit: " prefix of every log line */
static struct event *audit_event;
static struct stepup_audit *audit_log;
/* audit.path; while audit_log could not be opened it is tried again on
   each write (a directory created after the start is picked up) */
static char *audit_log_path;
static struct audit_client *clients;
static struct stepup_fetch_counter *fetch_counter;
/* verifies the audit tokens; empty = every hello is refused */
static buffer_t *token_key;
static struct timeout *to_fetch_expire, *to_read_flush, *to_anchor;
static unsigned int reads_per_session = STEPUP_AUDIT_READS_PER_SESSION;
static unsigned int anchor_interval_secs;
static char *last_anchor;

static struct stepup_read_agg *read_agg;
static struct approval_service *approvals;

static void audit_client_destroy(struct audit_client **_client)
{
	struct audit_client *client = *_client;
	const char *error;

	*_client = NULL;
	/* its sessions have ended: their aggregated reads are written now */
	if (read_agg != NULL &&
	    stepup_read_agg_flush_owner(read_agg, client, &error) < 0)
		i_error("stepup-audit: %s: aggregated reads not recorded", error);
	DLLIST_REMOVE(&clients, client);
	approval_waiter_abort(&client->waiter);
	io_remove(&client->io);
	i_stream_destroy(&client->input);
	o_stream_destroy(&client->output);
	i_close_fd(&client->fd);
	i_free(client->user);
	i_free(client->session);
	i_free(client);
	master_service_client_connection_destroyed(master_service);
}

/* The log, opened again while it cannot be (a directory created after the
   start is picked up): every user of audit_log calls this first. */
static int audit_log_ensure_open(const char **error_r)
{
	if (audit_log == NULL && audit_log_path != NULL &&
	    stepup_audit_open(audit_log_path, &audit_log, error_r) == 0) {
		e_info(audit_event, "%s opened: folder decisions are "
		       "recorded", audit_log_path);
	}
	if (audit_log == NULL) {
		if (audit_log_path == NULL)
			*error_r = "no audit log open";
		return -1;
	}
	return 0;
}

static int audit_write(const struct stepup_audit_record *rec,
		       const char **error_r)
{
	struct timeval now;

	if (audit_log_ensure_open(error_r) < 0)
		return -1;
	if (gettimeofday(&now, NULL) < 0)
		i_fatal("gettimeofday() failed: %m");
	return stepup_audit_write(audit_log, rec, &now, error_r);
}

/* A connection speaks for one session: the user and session of every
   record must be those its hello was signed for. An unbound connection
   (doveadm's: no login, no token) may only record admin access, and count
   nothing. */
static bool audit_client_may_send(struct audit_client *client,
				  const struct stepup_audit_record *rec,
				  bool fetch)
{
	const char *why;

	if (client->user == NULL) {
		if (!fetch && null_strcmp(rec->service, "doveadm") == 0)
			return TRUE;
		why = "no session bound to the connection";
	} else if (strcmp(rec->user, client->user) != 0) {
		why = "another user than the connection's";
	} else if (null_strcmp(rec->session, client->session) != 0) {
		why = "another session than the connection's";
	} else {
		return TRUE;
	}
	e_error(audit_event, "refused a request for user %s: %s%s%s",
		str_sanitize(rec->user, 80), why,
		client->user == NULL ? "" : " (", client->user == NULL ? "" :
		t_strconcat(str_sanitize(client->user, 80), ")", NULL));
	return FALSE;
}

static bool audit_client_hello(struct audit_client *client, const char *line)
{
	const char *user, *session, *token, *error;

	if (client->had_request || client->user != NULL) {
		e_error(audit_event, "refused a request: hello after the "
			"connection's first line");
		return FALSE;
	}
	if (stepup_audit_proto_decode_hello(line, &user, &session, &token,
					    &error) < 0) {
		e_error(audit_event, "refused a request: %s", error);
		return FALSE;
	}
	if (token_key->used == 0 ||
	    !stepup_facts_verify_audit_token(token_key, user, session, token)) {
		e_error(audit_event, "refused a connection for user %s: "
			"the audit token is not the passdb's", str_sanitize(user, 80));
		return FALSE;
	}
	client->user = i_strdup(user);
	client->session = i_strdup(session);
	o_stream_nsend_str(client->output, STEPUP_AUDIT_PROTO_OK "\n");
	return TRUE;
}

/* One message body read from a folder with a fetch_limit. */
static bool audit_client_fetch(struct audit_client *client, const char *line)
{
	struct stepup_fetch_request req;
	struct stepup_audit_record *rec = &req.rec;
	const char *error, *reason;
	unsigned int granted;
	time_t end;
	bool first_over;

	if (stepup_audit_proto_decode_fetch(line, &req, &error) < 0) {
		e_error(audit_event, "refused a request: %s", error);
		return FALSE;
	}
	if (!audit_client_may_send(client, rec, TRUE))
		return FALSE;
	granted = stepup_fetch_grant(fetch_counter, rec->user, rec->rule,
				     req.limit, req.window_secs, req.want,
				     ioloop_time, &end, &first_over);
	if (granted > 0) {
		client->leased += I_MIN(granted, UINT_MAX - client->leased);
		o_stream_nsend_str(client->output, t_strconcat(
			stepup_audit_proto_encode_grant(granted, end), "\n",
			NULL));
		return TRUE;
	}
	if (first_over) {
		/* what the mail process sent is the user's data: escaped
		   in the log line (the audit record escapes it as JSON) */
		reason = t_strdup_printf("more than %u messages read within "
			"%us from folders of rule '%s'", req.limit,
			req.window_secs, rec->rule);
		e_warning(audit_event, "fetch_limit: user %s: %s%s",
			  str_sanitize(rec->user, 80), str_sanitize(reason, 200),
			  req.enforce ? ": further reads refused" :
			  " (audit mode: nothing refused)");
		rec->event = "fetch_limit";
		rec->decision = req.enforce ? "deny" : "allow";
		rec->reason = req.enforce ? reason : t_strconcat(
			"audit mode: enforce would deny: ", reason, NULL);
		if (audit_write(rec, &error) < 0) {
			e_error(audit_event, "%s: fetch_limit not recorded",
				error);
		}
	}
	o_stream_nsend_str(client->output, STEPUP_AUDIT_PROTO_FAIL "\n");
	return TRUE;
}

/* Reads of a lease the session did not make (it ends). No answer. */
static bool audit_client_release(struct audit_client *client,
				 const char *line)
{
	struct stepup_fetch_release rel;
	const char *error;

	if (stepup_audit_proto_decode_release(line, &rel, &error) < 0) {
		e_error(audit_event, "refused a request: %s", error);
		return FALSE;
	}
	/* only the connection's own session gives back its own reads */
	if (client->user == NULL || strcmp(rel.user, client->user) != 0 ||
	    null_strcmp(rel.session, client->session) != 0) {
		e_error(audit_event, "refused a release for user %s: not the "
			"connection's session", str_sanitize(rel.user, 80));
		return FALSE;
	}
	rel.count = I_MIN(rel.count, client->leased);
	client->leased -= rel.count;
	if (rel.count > 0) {
		stepup_fetch_release(fetch_counter, rel.user, rel.rule,
				     rel.count, rel.end, ioloop_time);
	}
	return TRUE;
}

static int audit_write_read(const struct stepup_audit_record *rec,
			    void *context ATTR_UNUSED, const char **error_r)
{
	return audit_write(rec, error_r);
}

/* One message body read in a folder whose reads are audited. */
static bool audit_client_read(struct audit_client *client, const char *line)
{
	struct stepup_audit_record rec;
	const char *error;

	if (stepup_audit_proto_decode_read(line, &rec, &error) < 0) {
		i_error("stepup-audit: refused a request: %s", error);
		return FALSE;
	}
	if (!audit_client_may_send(client, &rec, FALSE))
		return FALSE;
	if (audit_log_ensure_open(&error) < 0 ||
	    stepup_read_agg_add(read_agg, &rec, reads_per_session,
				ioloop_time, client, &error) < 0) {
		i_error("stepup-audit: %s: read not recorded (user %s, "
			"mailbox %s, UID %u)", error, str_sanitize(rec.user, 80),
			str_sanitize(rec.mailbox, 200), rec.uid);
		o_stream_nsend_str(client->output, STEPUP_AUDIT_PROTO_FAIL "\n");
	} else {
		o_stream_nsend_str(client->output, STEPUP_AUDIT_PROTO_OK "\n");
	}
	return TRUE;
}

static void read_flush(void *context ATTR_UNUSED)
{
	const char *error;

	if (stepup_read_agg_flush(read_agg, ioloop_time, FALSE, &error) < 0)
		i_error("stepup-audit: %s: aggregated reads not recorded", error);
}

/* the latest hash through Dovecot's log (syslog): anchors a log
   collector keeps without any setup */
static void anchor_log(void *context ATTR_UNUSED)
{
	const char *hash, *ts, *error;

	if (audit_log_ensure_open(&error) < 0)
		return;
	if (stepup_audit_last_record(audit_log_path, &hash, &ts, &error) < 0) {
		i_error("stepup-audit: anchor: %s", error);
		return;
	}
	if (null_strcmp(hash, last_anchor) == 0)
		return;
	i_free(last_anchor);
	last_anchor = i_strdup(hash);
	i_info("stepup-audit: anchor %s at %s (%s)", hash,
	       str_sanitize(ts, 40), audit_log_path);
}

static void audit_client_approval_answer(const struct stepup_approval_answer *answer,
					 bool final, void *context)
{
	struct audit_client *client = context;

	if (final)
		client->waiter = NULL;
	o_stream_nsend_str(client->output, t_strconcat(
		stepup_approval_answer_encode(answer), "\n", NULL));
}

/* An open asks for an approval, or STATUS for a live grant. */
static bool audit_client_approval(struct audit_client *client,
				  const char *line)
{
	struct stepup_approval_ask ask;
	const char *error;

	if (stepup_approval_ask_decode(line, &ask, &error) < 0) {
		i_error("stepup-audit: refused a request: %s", error);
		return FALSE;
	}
	/* only for the connection's own session (never unbound) */
	if (!audit_client_may_send(client, &ask.rec, TRUE))
		return FALSE;
	client->waiter = approval_service_ask(approvals, &ask,
					      audit_client_approval_answer,
					      client);
	return TRUE;
}

static bool audit_client_request(struct audit_client *client,
				 const char *line)
{
	struct stepup_audit_record rec;
	const char *error;

	if (stepup_audit_proto_is_hello(line))
		return audit_client_hello(client, line);
	client->had_request = TRUE;
	if (client->waiter != NULL) {
		i_error("stepup-audit: refused a request: sent while waiting "
			"for an approval");
		return FALSE;
	}
	if (stepup_audit_proto_is_fetch(line))
		return audit_client_fetch(client, line);
	if (stepup_audit_proto_is_release(line))
		return audit_client_release(client, line);
	if (stepup_audit_proto_is_read(line))
		return audit_client_read(client, line);
	if (stepup_audit_proto_is_approval(line))
		return audit_client_approval(client, line);
	if (stepup_audit_proto_decode(line, &rec, &error) < 0) {
		e_error(audit_event, "refused a request: %s", error);
		return FALSE;
	}
	if (!audit_client_may_send(client, &rec, FALSE))
		return FALSE;
	if (audit_write(&rec, &error) < 0) {
		e_error(audit_event, "%s: %s not recorded (user %s, "
			"mailbox %s)", error, rec.decision,
			str_sanitize(rec.user, 80), str_sanitize(rec.mailbox, 200));
		o_stream_nsend_str(client->output, STEPUP_AUDIT_PROTO_FAIL "\n");
	} else {
		o_stream_nsend_str(client->output, STEPUP_AUDIT_PROTO_OK "\n");
	}
	return TRUE;
}

static void audit_client_input(struct audit_client *client)
{
	const char *line;
	bool ok = TRUE;

	while (ok && (line = i_stream_read_next_line(client->input)) != NULL) {
		T_BEGIN {
			ok = audit_client_request(client, line);
		} T_END;
	}
	if (ok && i_stream_get_data_size(client->input) >=
	    AUDIT_CLIENT_MAX_LINE) {
		e_error(audit_event, "refused a request: longer than %u bytes",
			AUDIT_CLIENT_MAX_LINE);
		ok = FALSE;
	}
	if (!ok || client->input->eof || client->input->stream_errno != 0)
		audit_client_destroy(&client);
}

static void fetch_expire(void *context ATTR_UNUSED)
{
	(void)stepup_fetch_counter_expire(fetch_counter, ioloop_time);
}

static void client_connected(struct master_service_connection *conn)
{
	struct audit_client *client;

	master_service_client_connection_accept(conn);
	client = i_new(struct audit_client, 1);
	client->fd = conn->fd;
	client->input = i_stream_create_fd(conn->fd, AUDIT_CLIENT_MAX_LINE);
	client->output = o_stream_create_fd(conn->fd, SIZE_MAX);
	o_stream_set_no_error_handling(client->output, TRUE);
	client->io = io_add(conn->fd, IO_READ, audit_client_input, client);
	DLLIST_PREPEND(&clients, client);
}

/* As root: the log and the approval keys may be where only root reads. */
static void audit_open_log(const char *policy_path)
{
	struct stepup_policy *policy;
	const char *path, *error;

	if (stepup_policy_load(policy_path, &policy, &error) < 0) {
		e_error(audit_event, "policy: %s: folder decisions cannot be "
			"recorded, approvals are refused", error);
		approvals = approval_service_init(NULL, audit_write);
		return;
	}
	if (stepup_facts_load_audit_key(
		stepup_policy_get_session_key_file(policy), token_key,
		&error) < 0) {
		buffer_set_used_size(token_key, 0);
		e_error(audit_event, "audit token key: %s: mail processes "
			"cannot record folder decisions", error);
	}
	approvals = approval_service_init(policy, audit_write);
	path = stepup_policy_get_audit_path(policy);
	if (path == NULL) {
		e_warning(audit_event, "%s has no audit.path: folder "
			  "decisions are not recorded", policy_path);
	} else if (stepup_audit_open(path, &audit_log, &error) < 0) {
		e_error(audit_event, "%s: folder decisions cannot be "
			"recorded (folders with rules are refused) until it can "
			"be written by the stepup-audit service's user", error);
	}
	if (path != NULL)
		audit_log_path = i_strdup(path);
	reads_per_session = stepup_policy_get_audit(policy)->reads_per_session;
	anchor_interval_secs = stepup_policy_get_audit(policy)->anchor_interval_secs;
	stepup_policy_unref(&policy);
}

int main(int argc, char *argv[])
{
	const char *policy_path;

	master_service = master_service_init("stepup-audit",
		MASTER_SERVICE_FLAG_NO_CONFIG_SETTINGS, &argc, &argv, "");
	if (master_getopt(master_service) > 0)
		return FATAL_DEFAULT;
	policy_path = argv[optind] != NULL ? argv[optind] :
		STEPUP_DEFAULT_POLICY;
	master_service_init_log(master_service);
	audit_event = stepup_event_create(NULL, "stepup-audit: ");

	/* as root: the log may be where only root writes, the token key is
	   for root's eyes only */
	token_key = buffer_create_dynamic(default_pool, 64);
	audit_open_log(policy_path);
	restrict_access_by_env(RESTRICT_ACCESS_FLAG_ALLOW_ROOT, NULL);
	restrict_access_allow_coredumps(TRUE);

	master_service_init_finish(master_service);
	approval_service_start(approvals);
	fetch_counter = stepup_fetch_counter_init(STEPUP_FETCH_MAX_COUNTERS);
	to_fetch_expire = timeout_add(FETCH_EXPIRE_INTERVAL_MSECS,
				      fetch_expire, NULL);
	read_agg = stepup_read_agg_init(STEPUP_READ_AGG_MAX_SESSIONS,
					audit_write_read, NULL);
	to_read_flush = timeout_add(READ_FLUSH_INTERVAL_MSECS, read_flush,
				    NULL);
	if (anchor_interval_secs > 0) {
		to_anchor = timeout_add(anchor_interval_secs * 1000,
					anchor_log, NULL);
	}
	master_service_run(master_service, client_connected);
	timeout_remove(&to_fetch_expire);
	timeout_remove(&to_read_flush);
	timeout_remove(&to_anchor);
	stepup_fetch_counter_deinit(&fetch_counter);
	stepup_read_agg_deinit(&read_agg);
	anchor_log(NULL);
	i_free(last_anchor);
	i_free(audit_log_path);

	while (clients != NULL) {
		struct audit_client *client = clients;
		audit_client_destroy(&client);
	}
	approval_service_deinit(&approvals);
	stepup_audit_close(&audit_log);
	safe_memset(buffer_get_modifiable_data(token_key, NULL), 0,
		    token_key->used);
	buffer_free(&token_key);
	event_unref(&audit_event);
	i_free(audit_log_path);
	master_service_deinit(&master_service);
	return 0;
}
