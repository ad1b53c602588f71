/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "net.h"
#include "write-full.h"
#include "audit-proto.h"
#include "stepup-audit-client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define AUDIT_CLIENT_TIMEOUT_SECS 5

struct stepup_audit_client {
	char *path;
	/* the connection's first line, NULL if none */
	char *hello;
	int fd;
	bool said_hello;
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
	client->said_hello = FALSE;
	return 0;
}

/* The answer is one short line: "+\n" (1) or "-\n" (0); -1 = error. */
static int audit_client_read_answer(struct stepup_audit_client *client,
				    const char **error_r)
{
	char buf[8];
	size_t pos = 0;
	ssize_t ret;

	while (pos < sizeof(buf)) {
		ret = read(client->fd, buf + pos, sizeof(buf) - pos);
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
		pos += ret;
		if (memchr(buf, '\n', pos) != NULL)
			break;
	}
	if (pos == 2 && memcmp(buf, STEPUP_AUDIT_PROTO_OK "\n", 2) == 0)
		return 1;
	if (pos == 2 && memcmp(buf, STEPUP_AUDIT_PROTO_FAIL "\n", 2) == 0)
		return 0;
	*error_r = "unexpected answer from the audit service";
	return -1;
}

static int audit_client_send_line(struct stepup_audit_client *client,
				  const char *line, const char **error_r)
{
	int ret;

	if (client->fd == -1 && audit_client_connect(client, error_r) < 0)
		return -1;
	if (client->hello != NULL && client->fd != -1 && !client->said_hello) {
		if (write_full(client->fd, client->hello,
			       strlen(client->hello)) < 0) {
			*error_r = t_strdup_printf("write(%s) failed: %m",
						   client->path);
			i_close_fd(&client->fd);
			return -1;
		}
		if ((ret = audit_client_read_answer(client, error_r)) <= 0) {
			if (ret == 0)
				*error_r = "the audit service refused the "
					"session's audit token";
			i_close_fd(&client->fd);
			return -1;
		}
		client->said_hello = TRUE;
	}
	if (write_full(client->fd, line, strlen(line)) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %m",
					   client->path);
		i_close_fd(&client->fd);
		return -1;
	}
	if ((ret = audit_client_read_answer(client, error_r)) < 0)
		i_close_fd(&client->fd);
	return ret;
}

/* One request and its answer; a connection kept from before may belong
   to a service that has been restarted since: one more try on a new one */
static int audit_client_request(struct stepup_audit_client *client,
				const char *line, const char **error_r)
{
	bool reused = client->fd != -1;
	int ret;

	line = t_strconcat(line, "\n", NULL);
	ret = audit_client_send_line(client, line, error_r);
	if (ret < 0 && reused)
		ret = audit_client_send_line(client, line, error_r);
	return ret;
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
			      const char **error_r)
{
	return audit_client_request(client,
				    stepup_audit_proto_encode_fetch(req),
				    error_r);
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
