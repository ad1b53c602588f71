/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "test-corpus.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

int test_corpus_replay(const char *dir,
		       bool (*check)(const unsigned char *data, size_t size),
		       unsigned int *accepted_r)
{
	struct dirent *d;
	int files = 0;
	DIR *dirp;

	*accepted_r = 0;
	dirp = opendir(dir);
	if (dirp == NULL)
		return -1;
	while ((d = readdir(dirp)) != NULL) T_BEGIN {
		string_t *data = t_str_new(4096);
		char buf[4096];
		ssize_t ret;
		int fd;

		if (d->d_name[0] != '.') {
			fd = open(t_strconcat(dir, "/", d->d_name, NULL),
				  O_RDONLY);
			if (fd == -1)
				i_fatal("open(%s/%s): %m", dir, d->d_name);
			while ((ret = read(fd, buf, sizeof(buf))) > 0)
				str_append_data(data, buf, ret);
			i_close_fd(&fd);
			files++;
			if (check(str_data(data), str_len(data)))
				(*accepted_r)++;
		}
	} T_END;
	(void)closedir(dirp);
	return files;
}
