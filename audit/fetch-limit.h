#ifndef FETCH_LIMIT_H
#define FETCH_LIMIT_H

/* fetch_limit counters (the bulk-read breaker): message bodies read per
   user and folder rule in a fixed window that starts with the first read.
   Kept by the stepup-audit service for every mail process on the host. */

struct stepup_fetch_counter;

struct stepup_fetch_counter *stepup_fetch_counter_init(unsigned int max_counters);
void stepup_fetch_counter_deinit(struct stepup_fetch_counter **counter);

/* The service keeps at most this many (user, rule) windows at once: what
   a compromised mail process could make it hold. A read that would need
   one more is refused (FALSE, first_over_r FALSE) until windows end. */
#define STEPUP_FETCH_MAX_COUNTERS 1000000

/* Count one read. Returns TRUE if it is within the limit; FALSE if over,
   with first_over_r TRUE for the first read over the limit in this
   window (the one to record). */
bool stepup_fetch_count(struct stepup_fetch_counter *counter,
			const char *user, const char *rule,
			unsigned int limit, unsigned int window_secs,
			time_t now, bool *first_over_r);

/* Forget windows that have ended. Returns the number of counters left. */
unsigned int stepup_fetch_counter_expire(struct stepup_fetch_counter *counter,
					 time_t now);

#endif
