/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Replays every file of the policy fuzzer's corpus (fuzz/corpus-policy:
   seeds and every crash ever found) through the fuzzer's checks, under
   the sanitizers of the unit-test build. */

#include "lib.h"
#include "str.h"
#include "test-common.h"
#include "fuzz-policy-check.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

static void test_policy_corpus(void)
{
	const char *dir = STEPUP_SRCDIR "/fuzz/corpus-policy";
	struct dirent *d;
	unsigned int files = 0, parsed = 0;
	DIR *dirp;

	test_begin("policy: fuzz corpus replays cleanly");
	dirp = opendir(dir);
	test_assert(dirp != NULL);
	while (dirp != NULL && (d = readdir(dirp)) != NULL) T_BEGIN {
		string_t *data = t_str_new(4096);
		char buf[4096];
		ssize_t ret;
		int fd;

		if (d->d_name[0] != '.') {
			fd = open(t_strconcat(dir, "/", d->d_name, NULL),
				  O_RDONLY);
			test_assert(fd != -1);
			while (fd != -1 && (ret = read(fd, buf, sizeof(buf))) > 0)
				str_append_data(data, buf, ret);
			if (fd != -1)
				i_close_fd(&fd);
			files++;
			if (fuzz_policy_check(str_data(data), str_len(data)))
				parsed++;
		}
	} T_END;
	if (dirp != NULL)
		(void)closedir(dirp);
	/* the seeds include good policies and bad ones */
	test_assert(files >= 5);
	test_assert(parsed > 0 && parsed < files);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_policy_corpus,
		NULL
	};

	return test_run(test_functions);
}
