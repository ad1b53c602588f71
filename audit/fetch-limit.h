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

/* Count up to want reads at once (a lease: a session reads them without
   asking again). Grants at most a quarter of what is left of the limit
   (at least one), so one session's unused reads keep the user's other
   sessions from the limit only near it. Returns the reads granted,
   counted from now on; 0 = over the limit (first_over_r as for
   stepup_fetch_count()). end_r is the window's end: the lease is good
   only until then (a later window did not count it). */
unsigned int stepup_fetch_grant(struct stepup_fetch_counter *counter,
				const char *user, const char *rule,
				unsigned int limit, unsigned int window_secs,
				unsigned int want, time_t now, time_t *end_r,
				bool *first_over_r);

/* A session gives back count reads it was granted and did not read, in
   the window ending at end (nothing if that window has ended). A session
   that ends without giving them back (killed) keeps them counted: the
   count is never lower than the reads made. */
void stepup_fetch_release(struct stepup_fetch_counter *counter,
			  const char *user, const char *rule,
			  unsigned int count, time_t end, time_t now);

/* A session's side of a lease: the reads the service granted it and it
   has not made yet, for one rule. Asks for 1 read first, twice as many
   each time after, up to STEPUP_FETCH_LEASE_WANT_MAX. */
#define STEPUP_FETCH_LEASE_WANT_MAX 64
struct stepup_fetch_lease {
	unsigned int limit, window_secs;
	unsigned int left;
	/* reads to ask for next time (0 = 1) */
	unsigned int want;
	/* when it was granted and the end of the window that granted it */
	time_t granted, end;
};

/* Take one granted read made at now. FALSE = none left, or the lease is
   no longer good (its window ended, the clock went back, other limits):
   ask the service (stepup_fetch_lease_want()). */
bool stepup_fetch_lease_take(struct stepup_fetch_lease *lease,
			     unsigned int limit, unsigned int window_secs,
			     time_t now);
/* How many reads to ask for (the first of them is the read being made),
   and the reads of the old lease to give back first (0 = none). */
unsigned int stepup_fetch_lease_want(struct stepup_fetch_lease *lease,
				     time_t now, unsigned int *release_r);
/* The service granted granted reads (>= 1: the first is the read being
   made) in the window ending at end. */
void stepup_fetch_lease_set(struct stepup_fetch_lease *lease,
			    unsigned int limit, unsigned int window_secs,
			    unsigned int granted, time_t end, time_t now);
/* The reads to give back when the session ends (0 = none, or the lease's
   window has ended); the lease is empty afterwards. */
unsigned int stepup_fetch_lease_unused(struct stepup_fetch_lease *lease,
				       time_t now);

/* Forget windows that have ended. Returns the number of counters left. */
unsigned int stepup_fetch_counter_expire(struct stepup_fetch_counter *counter,
					 time_t now);

#endif
