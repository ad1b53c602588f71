#ifndef TEST_TMPDIR_H
#define TEST_TMPDIR_H

/* Run the tests (test_run()) inside a fresh directory made from template
   ("/tmp/NAME-XXXXXX", rewritten in place by mkdtemp()), and remove it
   and everything in it afterwards. Returns test_run()'s exit status, or 1
   when the directory could not be removed. */
int test_run_in_tmpdir(char *template, void (*const test_functions[])(void));

#endif
