#ifndef TEST_CORPUS_H
#define TEST_CORPUS_H

/* Replays every file of a fuzzer's corpus (fuzz/corpus-TARGET: seeds and
   every crash ever found) through that fuzzer's checks, under the
   sanitizers of the unit-test build. Returns the number of files (-1 if
   the directory cannot be read); *accepted_r counts the files check()
   returned TRUE for. */
int test_corpus_replay(const char *dir,
		       bool (*check)(const unsigned char *data, size_t size),
		       unsigned int *accepted_r);

#endif
