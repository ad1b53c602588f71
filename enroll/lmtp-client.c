/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* A minimal LMTP client (RFC 2033) for one message to one local user:
   LHLO, MAIL FROM:<>, RCPT TO:<user>, DATA, QUIT. Blocking, for the
   command-line tool, with every connect, read and write bounded by one
   deadline. */

#include "lib.h"
#include "str.h"
#include "net.h"
#include "str-sanitize.h"
#include "time-util.h"
#include "stepup-enroll.h"

#include <ctype.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#define LMTP_LINE_MAX 1024

struct lmtp_conn {
	int fd;
	struct timeval deadline;
	char buf[LMTP_LINE_MAX];
	size_t used;
};

static int wait_fd(struct lmtp_conn *conn, short events,
		   const char **error_r)
{
	struct pollfd pfd = { .fd = conn->fd, .events = events };
	struct timeval now;
	long long msecs;
	int ret;

	i_gettimeofday(&now);
	msecs = timeval_diff_msecs(&conn->deadline, &now);
	if (msecs <= 0) {
		*error_r = "timed out";
		return -1;
	}
	ret = poll(&pfd, 1, (int)msecs);
	if (ret < 0) {
		*error_r = t_strdup_printf("poll() failed: %m");
		return -1;
	}
	if (ret == 0) {
		*error_r = "timed out";
		return -1;
	}
	return 0;
}

static int lmtp_connect(struct lmtp_conn *conn, const char *lmtp,
			const char **error_r)
{
	struct ip_addr ip;
	in_port_t port;
	const char *host;
	int err;
	socklen_t len = sizeof(err);

	if (lmtp[0] == '/') {
		conn->fd = net_connect_unix(lmtp);
		if (conn->fd == -1) {
			*error_r = t_strdup_printf("connect(%s) failed: %m",
						   lmtp);
			return -1;
		}
		return 0;
	}
	if (net_str2hostport(lmtp, 24, &host, &port) < 0 ||
	    net_addr2ip(host, &ip) < 0) {
		*error_r = t_strdup_printf("enrollment.lmtp: '%s' is not "
					   "IP:port", lmtp);
		return -1;
	}
	conn->fd = net_connect_ip(&ip, port, NULL);
	if (conn->fd == -1) {
		*error_r = t_strdup_printf("connect(%s) failed: %m", lmtp);
		return -1;
	}
	/* non-blocking connect: wait for it within the deadline */
	if (wait_fd(conn, POLLOUT, error_r) < 0)
		return -1;
	if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
	    err != 0) {
		errno = err;
		*error_r = t_strdup_printf("connect(%s) failed: %m", lmtp);
		return -1;
	}
	return 0;
}

static int lmtp_write(struct lmtp_conn *conn, const char *data, size_t size,
		      const char **error_r)
{
	ssize_t ret;

	while (size > 0) {
		if (wait_fd(conn, POLLOUT, error_r) < 0)
			return -1;
		ret = write(conn->fd, data, size);
		if (ret < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			*error_r = t_strdup_printf("write() failed: %m");
			return -1;
		}
		data += ret;
		size -= ret;
	}
	return 0;
}

/* one line (without CRLF) of the reply */
static int lmtp_read_line(struct lmtp_conn *conn, const char **line_r,
			  const char **error_r)
{
	char *nl;
	ssize_t ret;

	for (;;) {
		nl = memchr(conn->buf, '\n', conn->used);
		if (nl != NULL) {
			size_t len = nl - conn->buf;

			*line_r = t_strndup(conn->buf,
					    len > 0 && nl[-1] == '\r' ?
					    len - 1 : len);
			conn->used -= len + 1;
			memmove(conn->buf, nl + 1, conn->used);
			return 0;
		}
		if (conn->used == sizeof(conn->buf)) {
			*error_r = "reply line too long";
			return -1;
		}
		if (wait_fd(conn, POLLIN, error_r) < 0)
			return -1;
		ret = read(conn->fd, conn->buf + conn->used,
			   sizeof(conn->buf) - conn->used);
		if (ret < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (ret <= 0) {
			*error_r = ret == 0 ? "connection closed" :
				t_strdup_printf("read() failed: %m");
			return -1;
		}
		conn->used += ret;
	}
}

/* A (multi-line) reply; 0 if its code starts with expect. */
static int lmtp_reply(struct lmtp_conn *conn, char expect,
		      const char **error_r)
{
	const char *line;

	do {
		if (lmtp_read_line(conn, &line, error_r) < 0)
			return -1;
		if (strlen(line) < 3 || !i_isdigit(line[0])) {
			*error_r = "malformed reply";
			return -1;
		}
	} while (line[3] == '-');
	if (line[0] != expect) {
		*error_r = t_strdup_printf("LMTP server said: %s",
					   str_sanitize(line, 200));
		return -1;
	}
	return 0;
}

static int lmtp_cmd(struct lmtp_conn *conn, const char *cmd, char expect,
		    const char **error_r)
{
	if (lmtp_write(conn, cmd, strlen(cmd), error_r) < 0)
		return -1;
	return lmtp_reply(conn, expect, error_r);
}

/* A recipient in RCPT TO:<...> without quoting: printable ASCII without
   space, brackets, quotes or backslash. */
static bool rcpt_plain(const char *user)
{
	const unsigned char *p;

	for (p = (const unsigned char *)user; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("<>\"\\()[],;:", *p))
			return FALSE;
	}
	return user[0] != '\0';
}

/* the message with dot-stuffing and the final "." */
static const char *dot_stuff(const char *message)
{
	string_t *str = t_str_new(strlen(message) + 64);
	const char *p;
	bool bol = TRUE;

	for (p = message; *p != '\0'; p++) {
		if (bol && *p == '.')
			str_append_c(str, '.');
		if (*p == '\n' && (p == message || p[-1] != '\r'))
			str_append_c(str, '\r');
		str_append_c(str, *p);
		bol = *p == '\n';
	}
	if (!bol)
		str_append(str, "\r\n");
	str_append(str, ".\r\n");
	return str_c(str);
}

int stepup_lmtp_deliver(const char *lmtp, const char *user,
			const char *message, unsigned int timeout_msecs,
			const char **error_r)
{
	struct lmtp_conn conn;
	const char *data;
	int ret = -1;

	if (!rcpt_plain(user)) {
		*error_r = "the user name cannot be an LMTP recipient";
		return -1;
	}
	i_zero(&conn);
	conn.fd = -1;
	i_gettimeofday(&conn.deadline);
	timeval_add_msecs(&conn.deadline, timeout_msecs);
	if (lmtp_connect(&conn, lmtp, error_r) < 0) {
		if (conn.fd != -1)
			i_close_fd(&conn.fd);
		return -1;
	}
	net_set_nonblock(conn.fd, TRUE);
	data = dot_stuff(message);
	if (lmtp_reply(&conn, '2', error_r) == 0 &&
	    lmtp_cmd(&conn, "LHLO localhost\r\n", '2', error_r) == 0 &&
	    lmtp_cmd(&conn, "MAIL FROM:<>\r\n", '2', error_r) == 0 &&
	    lmtp_cmd(&conn, t_strdup_printf("RCPT TO:<%s>\r\n", user), '2',
		     error_r) == 0 &&
	    lmtp_cmd(&conn, "DATA\r\n", '3', error_r) == 0 &&
	    lmtp_cmd(&conn, data, '2', error_r) == 0) {
		const char *ignored;

		(void)lmtp_cmd(&conn, "QUIT\r\n", '2', &ignored);
		ret = 0;
	}
	i_close_fd(&conn.fd);
	return ret;
}
