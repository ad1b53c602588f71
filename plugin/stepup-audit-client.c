/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "net.h"
#include "write-full.h"
#include "audit-proto.h"
#include "stepup-audit-client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#ifndef POLLRDHUP
/* Linux: the peer closed its end (poll.h has it under _GNU_SOURCE) */
#  define POLLRDHUP 0x2000
#endif

#define AUDIT_CLIENT_TIMEOUT_SECS 5
/* an answer line: a result and a short text from the endpoint, escaped */
#define AUDIT_CLIENT_MAX_ANSWER 2048
/* how much longer than its wait an approval may take to be answered */
#define APPROVAL_CLIENT_MARGIN_SECS 5

struct stepup_audit_client {
	char *path;
	/* the connection's first line, NULL if none */
	char *hello;
	int fd;
	bool said_hello;
	/* what was read past the last answer line */
	char input[AUDIT_CLIENT_MAX_ANSWER];
	size_t input_len;
};

struct stepup_audit_client *
stepup_audit_client_init(const char *socket_path, const char *user,
			 const char *session, const char *token)
{
	struct stepup_audit_client *client;

	client = i_new(struct stepup_audit_client, 1);
	client->path = i_strdup(socket_path);
	if (token != NULL) {
		client->hello = i_strconcat(stepup_audit_proto_encode_hello(
			user, session, token), "\n", NULL);
	}
	client->fd = -1;
	return client;
}

void stepup_audit_client_deinit(struct stepup_audit_client **_client)
{
	struct stepup_audit_client *client = *_client;

	if (client == NULL)
		return;
	*_client = NULL;
	i_close_fd(&client->fd);
	i_free(client->hello);
	i_free(client->path);
	i_free(client);
}

static int audit_client_connect(struct stepup_audit_client *client,
				const char **error_r)
{
	struct timeval tv = { .tv_sec = AUDIT_CLIENT_TIMEOUT_SECS };
	int fd;

	fd = net_connect_unix_with_retries(client->path, 1000);
	if (fd == -1) {
		*error_r = t_strdup_printf("net_connect_unix(%s) failed: %m",
					   client->path);
		return -1;
	}
	net_set_nonblock(fd, FALSE);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		*error_r = t_strdup_printf("setsockopt(%s) failed: %m",
					   client->path);
		i_close_fd(&fd);
		return -1;
	}
	client->fd = fd;
	client->input_len = 0;
	client->said_hello = FALSE;
	return 0;
}

static void audit_client_disconnect(struct stepup_audit_client *client)
{
	i_close_fd(&client->fd);
	client->input_len = 0;
}

/* One answer line (data stack, without the newline). */
static int audit_client_read_line(struct stepup_audit_client *client,
				  const char **line_r, const char **error_r)
{
	char *nl;
	ssize_t ret;

	for (;;) {
		nl = memchr(client->input, '\n', client->input_len);
		if (nl != NULL) {
			*line_r = t_strdup_until(client->input, nl);
			client->input_len -= nl + 1 - client->input;
			memmove(client->input, nl + 1, client->input_len);
			return 0;
		}
		if (client->input_len == sizeof(client->input)) {
			*error_r = "answer from the audit service too long";
			return -1;
		}
		ret = read(client->fd, client->input + client->input_len,
			   sizeof(client->input) - client->input_len);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0) {
			*error_r = ret == 0 ?
				t_strdup_printf("%s closed the connection",
						client->path) :
				t_strdup_printf("read(%s) failed: %m",
						client->path);
			return -1;
		}
		client->input_len += ret;
	}
}

/* The connection's first line binds it to the session (if the session
   has a token); the service answers "+". */
static int audit_client_say_hello(struct stepup_audit_client *client,
				  const char **error_r)
{
	const char *answer;

	if (client->hello == NULL || client->said_hello)
		return 0;
	if (write_full(client->fd, client->hello, strlen(client->hello)) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %m",
					   client->path);
		audit_client_disconnect(client);
		return -1;
	}
	if (audit_client_read_line(client, &answer, error_r) < 0) {
		audit_client_disconnect(client);
		return -1;
	}
	if (strcmp(answer, STEPUP_AUDIT_PROTO_OK) != 0) {
		*error_r = "the audit service refused the session's audit token";
		audit_client_disconnect(client);
		return -1;
	}
	client->said_hello = TRUE;
	return 0;
}

static int audit_client_exchange(struct stepup_audit_client *client,
				 const char *line, const char **answer_r,
				 const char **error_r)
{
	if (client->fd == -1 && audit_client_connect(client, error_r) < 0)
		return -1;
	if (audit_client_say_hello(client, error_r) < 0)
		return -1;
	if (write_full(client->fd, line, strlen(line)) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %m",
					   client->path);
		audit_client_disconnect(client);
		return -1;
	}
	if (audit_client_read_line(client, answer_r, error_r) < 0) {
		audit_client_disconnect(client);
		return -1;
	}
	return 0;
}

/* One request and its answer line; a connection kept from before may
   belong to a service that has been restarted since: one more try on a
   new one */
static int audit_client_request_line(struct stepup_audit_client *client,
				     const char *line, const char **answer_r,
				     const char **error_r)
{
	bool reused = client->fd != -1;
	int ret;

	line = t_strconcat(line, "\n", NULL);
	ret = audit_client_exchange(client, line, answer_r, error_r);
	if (ret < 0 && reused)
		ret = audit_client_exchange(client, line, answer_r, error_r);
	return ret;
}

/* The answer to a record is "+" (1) or "-" (0); -1 = error. */
static int audit_client_request(struct stepup_audit_client *client,
				const char *line, const char **error_r)
{
	const char *answer;

	if (audit_client_request_line(client, line, &answer, error_r) < 0)
		return -1;
	if (strcmp(answer, STEPUP_AUDIT_PROTO_OK) == 0)
		return 1;
	if (strcmp(answer, STEPUP_AUDIT_PROTO_FAIL) == 0)
		return 0;
	*error_r = "unexpected answer from the audit service";
	audit_client_disconnect(client);
	return -1;
}

int stepup_audit_client_send(struct stepup_audit_client *client,
			     const struct stepup_audit_record *rec,
			     const char **error_r)
{
	int ret = audit_client_request(client, stepup_audit_proto_encode(rec),
				       error_r);

	if (ret == 0) {
		*error_r = "the audit service could not write the record "
			"(see its log)";
	}
	return ret > 0 ? 0 : -1;
}

int stepup_audit_client_fetch(struct stepup_audit_client *client,
			      const struct stepup_fetch_request *req,
			      unsigned int *granted_r, time_t *end_r,
			      const char **error_r)
{
	const char *answer;

	if (audit_client_request_line(client,
				      stepup_audit_proto_encode_fetch(req),
				      &answer, error_r) < 0)
		return -1;
	if (stepup_audit_proto_decode_grant(answer, granted_r, end_r) < 0) {
		*error_r = "unexpected answer from the audit service";
		audit_client_disconnect(client);
		return -1;
	}
	return *granted_r > 0 ? 1 : 0;
}

void stepup_audit_client_release(struct stepup_audit_client *client,
				 const struct stepup_fetch_release *rel)
{
	const char *line;

	/* only on the connection that was granted them (the service gives
	   back no more than that); otherwise they stay counted */
	if (client->fd == -1 || !client->said_hello)
		return;
	line = t_strconcat(stepup_audit_proto_encode_release(rel), "\n", NULL);
	if (write_full(client->fd, line, strlen(line)) < 0)
		audit_client_disconnect(client);
}

int stepup_audit_client_read(struct stepup_audit_client *client,
			     const struct stepup_audit_record *rec,
			     const char **error_r)
{
	int ret = audit_client_request(client,
				       stepup_audit_proto_encode_read(rec),
				       error_r);

	if (ret == 0) {
		*error_r = "the audit service could not record the read "
			"(see its log)";
	}
	return ret > 0 ? 0 : -1;
}

int stepup_audit_client_grant(struct stepup_audit_client *client,
			      const struct stepup_approval_ask *ask,
			      struct stepup_approval_answer *answer_r,
			      const char **error_r)
{
	const char *answer;

	i_assert(!ask->create);
	if (audit_client_request_line(client, stepup_approval_ask_encode(ask),
				      &answer, error_r) < 0)
		return -1;
	if (stepup_approval_answer_decode(answer, answer_r) < 0 ||
	    answer_r->type == STEPUP_APPROVAL_ANSWER_CODE) {
		*error_r = "unexpected answer from the audit service";
		audit_client_disconnect(client);
		return -1;
	}
	return 0;
}

/* Wait for fd to be readable until deadline, or the client to go away:
   1 readable, 0 deadline, -1 client gone or error (error_r). */
static int approval_poll(int fd, int client_fd, time_t deadline,
			 const char **error_r)
{
	struct pollfd pfd[2];
	int ret, msecs;

	for (;;) {
		msecs = (int)(deadline - time(NULL)) * 1000;
		if (msecs <= 0)
			return 0;
		i_zero(&pfd);
		pfd[0].fd = fd;
		pfd[0].events = POLLIN;
		/* only the client closing wakes us, not its next command */
		pfd[1].fd = client_fd;
		pfd[1].events = POLLRDHUP;
		ret = poll(pfd, client_fd == -1 ? 1 : 2, msecs);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			*error_r = t_strdup_printf("poll() failed: %m");
			return -1;
		}
		if (client_fd != -1 && pfd[1].revents != 0) {
			*error_r = "the client closed the connection";
			return -1;
		}
		if (pfd[0].revents != 0)
			return 1;
	}
}

int stepup_audit_client_approval(struct stepup_audit_client *client,
				 const struct stepup_approval_ask *ask,
				 int client_fd,
				 stepup_approval_code_callback_t *code_callback,
				 void *context,
				 struct stepup_approval_answer *answer_r,
				 const char **error_r)
{
	struct stepup_audit_client *conn;
	time_t deadline = time(NULL) + ask->wait_secs +
		APPROVAL_CLIENT_MARGIN_SECS;
	const char *line;
	int ret;

	i_assert(ask->create);
	/* a connection of its own: it waits, and is closed if the client
	   goes away first */
	conn = stepup_audit_client_init(client->path, NULL, NULL, NULL);
	conn->hello = i_strdup(client->hello);
	if (audit_client_connect(conn, error_r) < 0 ||
	    audit_client_say_hello(conn, error_r) < 0) {
		stepup_audit_client_deinit(&conn);
		return -1;
	}
	line = t_strconcat(stepup_approval_ask_encode(ask), "\n", NULL);
	if (write_full(conn->fd, line, strlen(line)) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %m", conn->path);
		stepup_audit_client_deinit(&conn);
		return -1;
	}
	for (;;) {
		ret = approval_poll(conn->fd, client_fd, deadline, error_r);
		if (ret == 0) {
			*error_r = "no answer from the audit service in time";
			ret = -1;
		}
		if (ret < 0 || audit_client_read_line(conn, &line, error_r) < 0) {
			ret = -1;
			break;
		}
		if (stepup_approval_answer_decode(line, answer_r) < 0) {
			*error_r = "unexpected answer from the audit service";
			ret = -1;
			break;
		}
		if (answer_r->type != STEPUP_APPROVAL_ANSWER_CODE) {
			ret = 0;
			break;
		}
		if (code_callback != NULL)
			code_callback(answer_r->text, context);
	}
	stepup_audit_client_deinit(&conn);
	return ret;
}
