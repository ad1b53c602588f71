/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "fetch-limit.h"

struct fetch_window {
	char *key;		/* user NUL rule */
	time_t start, end;
	unsigned int count;
	bool over_reported;
};

HASH_TABLE_DEFINE_TYPE(fetch_windows, char *, struct fetch_window *);

struct stepup_fetch_counter {
	HASH_TABLE_TYPE(fetch_windows) windows;
	unsigned int max_counters;
};

/* user and rule joined by a byte neither may contain */
static const char *fetch_key(const char *user, const char *rule)
{
	return t_strconcat(user, "\x01", rule, NULL);
}

struct stepup_fetch_counter *stepup_fetch_counter_init(unsigned int max_counters)
{
	struct stepup_fetch_counter *counter;

	counter = i_new(struct stepup_fetch_counter, 1);
	counter->max_counters = max_counters;
	hash_table_create(&counter->windows, default_pool, 0, str_hash,
			  strcmp);
	return counter;
}

static void fetch_window_free(struct fetch_window *w)
{
	i_free(w->key);
	i_free(w);
}

void stepup_fetch_counter_deinit(struct stepup_fetch_counter **_counter)
{
	struct stepup_fetch_counter *counter = *_counter;
	struct hash_iterate_context *iter;
	char *key;
	struct fetch_window *w;

	if (counter == NULL)
		return;
	*_counter = NULL;
	iter = hash_table_iterate_init(counter->windows);
	while (hash_table_iterate(iter, counter->windows, &key, &w))
		fetch_window_free(w);
	hash_table_iterate_deinit(&iter);
	hash_table_destroy(&counter->windows);
	i_free(counter);
}

bool stepup_fetch_count(struct stepup_fetch_counter *counter,
			const char *user, const char *rule,
			unsigned int limit, unsigned int window_secs,
			time_t now, bool *first_over_r)
{
	const char *key = fetch_key(user, rule);
	struct fetch_window *w;

	*first_over_r = FALSE;
	w = hash_table_lookup(counter->windows, key);
	if (w == NULL && hash_table_count(counter->windows) >=
	    counter->max_counters &&
	    stepup_fetch_counter_expire(counter, now) >= counter->max_counters)
		return FALSE;	/* full: fail closed */
	if (w == NULL) {
		w = i_new(struct fetch_window, 1);
		w->key = i_strdup(key);
		hash_table_insert(counter->windows, w->key, w);
	}
	if (w->count == 0 || now >= w->end || now < w->start) {
		/* a new window (also after the clock went back) */
		w->start = now;
		w->end = now + window_secs;
		w->count = 0;
		w->over_reported = FALSE;
	}
	if (w->count <= limit)
		w->count++;
	if (w->count <= limit)
		return TRUE;
	/* count stops at limit + 1: the first read over is reported once */
	*first_over_r = !w->over_reported;
	w->over_reported = TRUE;
	return FALSE;
}

unsigned int stepup_fetch_counter_expire(struct stepup_fetch_counter *counter,
					 time_t now)
{
	struct hash_iterate_context *iter;
	ARRAY(struct fetch_window *) expired;
	struct fetch_window *w, *const *wp;
	char *key;

	t_array_init(&expired, 16);
	iter = hash_table_iterate_init(counter->windows);
	while (hash_table_iterate(iter, counter->windows, &key, &w)) {
		if (now >= w->end || now < w->start)
			array_push_back(&expired, &w);
	}
	hash_table_iterate_deinit(&iter);
	array_foreach(&expired, wp) {
		hash_table_remove(counter->windows, (*wp)->key);
		fetch_window_free(*wp);
	}
	return hash_table_count(counter->windows);
}
