#ifndef STEPUP_ARGS_H
#define STEPUP_ARGS_H

/* passdb { driver = stepup  args = ... } — the only configuration channel
   into the auth module. Space-separated key=value pairs. */
enum stepup_passdb_stage {
	/* first passdb: applies the login rule, takes the code off */
	STEPUP_PASSDB_STAGE_LOGIN = 0,
	/* stage=verify: last passdb, after the password was verified */
	STEPUP_PASSDB_STAGE_VERIFY,
};

struct stepup_passdb_args {
	/* policy=PATH (default STEPUP_DEFAULT_POLICY) */
	const char *policy_path;
	/* stage=login|verify (default login) */
	enum stepup_passdb_stage stage;
};

/* Parse args into args_r (strings allocated from pool). Unknown keys,
   duplicates, and keys without a value are errors: returns -1 and sets
   error_r. Returns 0 on success. */
int stepup_passdb_args_parse(pool_t pool, const char *args,
			     struct stepup_passdb_args *args_r,
			     const char **error_r);

#endif
