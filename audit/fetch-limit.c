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

/* The (user, rule) window at now, a new one if the last has ended; NULL
   if the table is full. */
static struct fetch_window *
fetch_window_get(struct stepup_fetch_counter *counter, const char *user,
		 const char *rule, unsigned int window_secs, time_t now)
{
	const char *key = fetch_key(user, rule);
	struct fetch_window *w;

	w = hash_table_lookup(counter->windows, key);
	if (w == NULL && hash_table_count(counter->windows) >=
	    counter->max_counters &&
	    stepup_fetch_counter_expire(counter, now) >= counter->max_counters)
		return NULL;	/* full: fail closed */
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
	return w;
}

unsigned int stepup_fetch_grant(struct stepup_fetch_counter *counter,
				const char *user, const char *rule,
				unsigned int limit, unsigned int window_secs,
				unsigned int want, time_t now, time_t *end_r,
				bool *first_over_r)
{
	struct fetch_window *w;
	unsigned int left, granted;

	*first_over_r = FALSE;
	*end_r = now;
	w = fetch_window_get(counter, user, rule, window_secs, now);
	if (w == NULL)
		return 0;
	*end_r = w->end;
	if (w->count < limit) {
		left = limit - w->count;
		/* a quarter of what is left at most: the other sessions of
		   the user are not refused while this one holds unused
		   reads; near the limit one read at a time, as without a
		   lease */
		granted = I_MIN(I_MAX(want, 1U), I_MAX(left / 4, 1U));
		w->count += granted;
		return granted;
	}
	/* the first read over the limit is reported once a window */
	*first_over_r = !w->over_reported;
	w->over_reported = TRUE;
	return 0;
}

bool stepup_fetch_count(struct stepup_fetch_counter *counter,
			const char *user, const char *rule,
			unsigned int limit, unsigned int window_secs,
			time_t now, bool *first_over_r)
{
	time_t end;

	return stepup_fetch_grant(counter, user, rule, limit, window_secs, 1,
				  now, &end, first_over_r) > 0;
}

void stepup_fetch_release(struct stepup_fetch_counter *counter,
			  const char *user, const char *rule,
			  unsigned int count, time_t end, time_t now)
{
	struct fetch_window *w;

	w = hash_table_lookup(counter->windows, fetch_key(user, rule));
	/* only into the window that granted them: a later window never
	   counted them */
	if (w == NULL || w->end != end || now >= w->end || now < w->start)
		return;
	w->count -= I_MIN(count, w->count);
	if (w->count == 0) {
		/* nothing was read: the next read starts a window, as if
		   this one had never begun */
		w->end = w->start;
	}
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

/* granted reads are used only until a second before the window's end:
   the service's clock (its ioloop's) may be a little behind */
#define FETCH_LEASE_MARGIN_SECS 1

static bool fetch_lease_good(const struct stepup_fetch_lease *lease,
			     time_t now)
{
	return lease->left > 0 && now >= lease->granted &&
		now + FETCH_LEASE_MARGIN_SECS < lease->end;
}

bool stepup_fetch_lease_take(struct stepup_fetch_lease *lease,
			     unsigned int limit, unsigned int window_secs,
			     time_t now)
{
	if (!fetch_lease_good(lease, now) || lease->limit != limit ||
	    lease->window_secs != window_secs)
		return FALSE;
	lease->left--;
	return TRUE;
}

unsigned int stepup_fetch_lease_want(struct stepup_fetch_lease *lease,
				     time_t now, unsigned int *release_r)
{
	/* reads left of other limits (a policy reload) go back */
	*release_r = stepup_fetch_lease_unused(lease, now);
	return I_MAX(lease->want, 1U);
}

void stepup_fetch_lease_set(struct stepup_fetch_lease *lease,
			    unsigned int limit, unsigned int window_secs,
			    unsigned int granted, time_t end, time_t now)
{
	i_assert(granted > 0);
	lease->limit = limit;
	lease->window_secs = window_secs;
	lease->left = granted - 1;
	lease->granted = now;
	lease->end = end;
	lease->want = I_MIN(I_MAX(lease->want, 1U) * 2,
			    STEPUP_FETCH_LEASE_WANT_MAX);
}

unsigned int stepup_fetch_lease_unused(struct stepup_fetch_lease *lease,
				       time_t now)
{
	unsigned int left = fetch_lease_good(lease, now) ? lease->left : 0;

	lease->left = 0;
	return left;
}
