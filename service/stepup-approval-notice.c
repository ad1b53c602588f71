/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* enrollment.notify for the enrollment page: the notice (enroll/
   enroll-notice.c) is delivered through Dovecot's LMTP by a child
   process (enroll/lmtp-client.c, 10 s in all), so the service, which
   serves every other user from one event loop, never waits for LMTP.
   When the child has ended, a failure is logged and recorded as an
   admin deny record, as the tool does. The child writes nothing but its
   error line into a pipe (it never touches the audit log: a flock()
   shared across fork() would not keep the two writers apart). */

#include "lib.h"
#include "ioloop.h"
#include "llist.h"
#include "child-wait.h"
#include "str-sanitize.h"
#include "asvc-enroll.h"
#include "stepup-approval-endpoint.h"

#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

#define NOTICE_TIMEOUT_MSECS (10 * 1000)
/* the child ends by then whatever happens */
#define NOTICE_ALARM_SECS 30

struct notice_run {
	struct notice_run *prev, *next;
	pid_t pid;
	int fd;
	char *user;
};

static struct event *notice_event;
static struct child_wait *notice_wait;
static struct notice_run *runs;
static stepup_approval_notice_failed_t *notice_failed;

static void notice_run_free(struct notice_run *run)
{
	DLLIST_REMOVE(&runs, run);
	i_close_fd(&run->fd);
	i_free(run->user);
	i_free(run);
}

static void notice_child_exited(const struct child_wait_status *status,
				void *context ATTR_UNUSED)
{
	struct notice_run *run;
	char buf[512];
	ssize_t n;

	for (run = runs; run != NULL; run = run->next) {
		if (run->pid == status->pid)
			break;
	}
	if (run == NULL)
		return;
	if (WIFEXITED(status->status) && WEXITSTATUS(status->status) == 0) {
		e_debug(notice_event, "notice delivered to %s",
			str_sanitize(run->user, 80));
	} else {
		n = read(run->fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		T_BEGIN {
			const char *error = n > 0 ? str_sanitize(buf, 400) :
				WIFSIGNALED(status->status) ?
				"the delivery did not end in time" :
				"the delivery failed";

			e_error(notice_event, "the notice to %s's INBOX was "
				"not delivered: %s",
				str_sanitize(run->user, 80), error);
			if (notice_failed != NULL)
				notice_failed(run->user, error);
		} T_END;
	}
	notice_run_free(run);
}

void stepup_approval_notice_init(stepup_approval_notice_failed_t *failed,
				 struct event *event)
{
	notice_event = event;
	notice_failed = failed;
	child_wait_init();
	notice_wait = child_wait_new(notice_child_exited, NULL);
}

void stepup_approval_notice_deinit(void)
{
	/* the children finish on their own */
	while (runs != NULL)
		notice_run_free(runs);
	child_wait_free(&notice_wait);
	child_wait_deinit();
}

static void ATTR_NORETURN
notice_child(int fd, const char *lmtp, const char *user, const char *message)
{
	const char *error;

	alarm(NOTICE_ALARM_SECS);
	if (stepup_lmtp_deliver(lmtp, user, message, NOTICE_TIMEOUT_MSECS,
				&error) == 0)
		_exit(0);
	if (write(fd, error, strlen(error)) < 0) {
		/* the parent says "failed" then */
	}
	_exit(1);
}

void stepup_approval_notice_send(const char *lmtp,
				 enum stepup_notice_kind kind,
				 const char *user, const char *detail)
{
	struct notice_run *run;
	const char *message;
	char host[256];
	int fd[2];
	pid_t pid;

	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	message = stepup_notice_message(kind, user, detail, TRUE, host,
					ioloop_time);
	if (pipe(fd) < 0) {
		e_error(notice_event, "pipe() failed: %m");
		if (notice_failed != NULL)
			notice_failed(user, "pipe() failed");
		return;
	}
	pid = fork();
	if (pid < 0) {
		e_error(notice_event, "fork() failed: %m");
		i_close_fd(&fd[0]);
		i_close_fd(&fd[1]);
		if (notice_failed != NULL)
			notice_failed(user, "fork() failed");
		return;
	}
	if (pid == 0) {
		i_close_fd(&fd[0]);
		notice_child(fd[1], lmtp, user, message);
	}
	i_close_fd(&fd[1]);
	run = i_new(struct notice_run, 1);
	run->pid = pid;
	run->fd = fd[0];
	run->user = i_strdup(user);
	DLLIST_PREPEND(&runs, run);
	child_wait_add_pid(notice_wait, pid);
}
