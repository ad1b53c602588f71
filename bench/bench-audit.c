/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Audit log benchmark: builds a chained log of SIZE MB (default 1024) in
   DIR (default /tmp), then runs "stepup audit verify" and "stepup audit
   report" on it and prints each one's peak memory (max RSS) and time.
   Both read the log in one pass in bounded memory: the peak must not
   grow with the file (run: make bench-audit && ./bench-audit [SIZE] [DIR];
   build without sanitizers for real numbers). It never passes or fails. */

#include "lib.h"
#include "str.h"
#include "stepup-audit.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>

static double now_secs(void)
{
	struct timeval tv;

	if (gettimeofday(&tv, NULL) < 0)
		i_fatal("gettimeofday: %m");
	return tv.tv_sec + tv.tv_usec / 1e6;
}

static void make_log(const char *path, unsigned long long size)
{
	struct stepup_audit_record rec = {
		.event = "read", .user = "alice@example.org",
		.session = "Kx3yQ9f2abcd", .service = "imap",
		.ip = "192.0.2.7", .mailbox = "Direction/Budget 2027",
		.rule = "direction", .decision = "allow",
		.reason = "message body read", .auth = "totp",
	};
	struct timeval tv = { .tv_sec = 1764038400 };
	char prev[65];
	const char *line, *hash;
	unsigned long long written = 0;
	string_t *buf = str_new(default_pool, 1024 * 1024);
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1)
		i_fatal("open(%s): %m", path);
	memcpy(prev, STEPUP_AUDIT_GENESIS, sizeof(prev));
	while (written < size) {
		T_BEGIN {
			tv.tv_usec = (tv.tv_usec + 1000) % 1000000;
			if (tv.tv_usec == 0)
				tv.tv_sec++;
			line = stepup_audit_format(&rec, &tv, prev, &hash);
			memcpy(prev, hash, 64);
			str_append(buf, line);
			str_append_c(buf, '\n');
		} T_END;
		if (str_len(buf) >= 1024 * 1024 - 4096) {
			if (write(fd, str_data(buf), str_len(buf)) !=
			    (ssize_t)str_len(buf))
				i_fatal("write(%s): %m", path);
			written += str_len(buf);
			str_truncate(buf, 0);
		}
	}
	if (write(fd, str_data(buf), str_len(buf)) != (ssize_t)str_len(buf))
		i_fatal("write(%s): %m", path);
	i_close_fd(&fd);
	str_free(&buf);
}

/* run the stepup tool, output to /dev/null; its peak RSS in KiB */
static long run(const char *const argv[], double *secs_r, int *status_r)
{
	struct rusage ru;
	double start = now_secs();
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0)
		i_fatal("fork: %m");
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd == -1 || dup2(fd, 1) < 0)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (wait4(pid, status_r, 0, &ru) != pid)
		i_fatal("wait4: %m");
	*secs_r = now_secs() - start;
	return ru.ru_maxrss;
}

int main(int argc, char *argv[])
{
	unsigned int size_mb = 1024;
	const char *dir = argc > 2 ? argv[2] : "/tmp", *path;
	double secs;
	long rss;
	int status;

	lib_init();
	if (argc > 1 && str_to_uint(argv[1], &size_mb) < 0)
		i_fatal("usage: bench-audit [SIZE_MB] [DIR]");
	path = t_strdup_printf("%s/bench-audit-%ld.jsonl", dir, (long)getpid());
	secs = now_secs();
	make_log(path, (unsigned long long)size_mb * 1024 * 1024);
	printf("log: %u MB written in %.1f s (%s)\n", size_mb,
	       now_secs() - secs, path);
	{
		const char *const verify[] = {
			"./stepup", "audit", "verify", path, NULL };
		const char *const report[] = {
			"./stepup", "audit", "report", path, "--all", NULL };
		const char *const reads[] = {
			"./stepup", "audit", "report", path, "--reads",
			"--user", "nobody", NULL };

		rss = run(verify, &secs, &status);
		printf("audit verify: max RSS %ld KiB, %.1f s, exit %d\n", rss,
		       secs, WEXITSTATUS(status));
		rss = run(report, &secs, &status);
		printf("audit report --all: max RSS %ld KiB, %.1f s, exit %d\n",
		       rss, secs, WEXITSTATUS(status));
		rss = run(reads, &secs, &status);
		printf("audit report --reads --user nobody: max RSS %ld KiB, "
		       "%.1f s, exit %d\n", rss, secs, WEXITSTATUS(status));
	}
	if (unlink(path) < 0)
		i_error("unlink(%s): %m", path);
	lib_deinit();
	return 0;
}
