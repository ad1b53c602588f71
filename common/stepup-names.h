#ifndef STEPUP_NAMES_H
#define STEPUP_NAMES_H

/* Every enum that is spelled out somewhere (the policy file, the dump,
   state records, the audit log, decision reasons, the CLI) and its one
   table of names (stepup-names.c). *_to_str() takes only valid values;
   *_parse() returns -1 for a name not in the table. */

/* Session authentication level, decided at login (SPEC "Authentication
   levels"). Ordered: a higher value is a stronger login. */
enum stepup_auth_level {
	STEPUP_AUTH_NONE = 0,
	STEPUP_AUTH_PASSWORD,
	STEPUP_AUTH_APP,
	STEPUP_AUTH_TOTP,
};
#define STEPUP_AUTH_LEVEL_COUNT (STEPUP_AUTH_TOTP + 1)

enum stepup_totp_algorithm {
	STEPUP_TOTP_SHA1 = 0,
	STEPUP_TOTP_SHA256,
	STEPUP_TOTP_SHA512,
};

/* a login rule's require */
enum stepup_login_require {
	STEPUP_LOGIN_PASSWORD,
	STEPUP_LOGIN_TOTP,
	STEPUP_LOGIN_DENY,
};

/* a folder rule's require */
enum stepup_folder_require {
	STEPUP_FOLDER_NONE,
	STEPUP_FOLDER_DENY,
	STEPUP_FOLDER_TOTP,
	STEPUP_FOLDER_APPROVAL,
	STEPUP_FOLDER_TOTP_OR_APPROVAL,
	STEPUP_FOLDER_TOTP_AND_APPROVAL,
};

/* One access to a folder by a session */
enum stepup_folder_access {
	STEPUP_FOLDER_ACCESS_READ,	/* open: SELECT, EXAMINE, POP3 */
	STEPUP_FOLDER_ACCESS_STATUS,	/* STATUS without an open, metadata */
	STEPUP_FOLDER_ACCESS_SAVE,	/* APPEND, COPY/MOVE target */
	STEPUP_FOLDER_ACCESS_CHANGE,	/* RENAME, DELETE */
	STEPUP_FOLDER_ACCESS_CREATE,	/* CREATE, RENAME target */
};

/* "none", "password", "app", "totp" */
const char *stepup_auth_level_to_str(enum stepup_auth_level level);
/* Only the levels a session can have: "none" is refused. */
int stepup_auth_level_parse(const char *str, enum stepup_auth_level *level_r);
/* The same, "none" included (what the audit log may carry). */
int stepup_auth_level_parse_any(const char *str,
				enum stepup_auth_level *level_r);

/* "SHA1", "SHA256", "SHA512" */
const char *stepup_totp_algorithm_to_str(enum stepup_totp_algorithm alg);
int stepup_totp_algorithm_parse(const char *str,
				enum stepup_totp_algorithm *alg_r);

const char *stepup_login_require_to_str(enum stepup_login_require req);
int stepup_login_require_parse(const char *str,
			       enum stepup_login_require *req_r);
/* NULL-terminated, in enum order (for messages) */
const char *const *stepup_login_require_names(void);

const char *stepup_folder_require_to_str(enum stepup_folder_require req);
int stepup_folder_require_parse(const char *str,
				enum stepup_folder_require *req_r);
const char *const *stepup_folder_require_names(void);

/* "open", "status", "save", "change", "create" */
const char *stepup_folder_access_to_str(enum stepup_folder_access access);
int stepup_folder_access_parse(const char *str,
			       enum stepup_folder_access *access_r);

/* "sun" .. "sat" for struct tm's tm_wday 0 .. 6 */
#define STEPUP_DAY_COUNT 7
const char *stepup_day_to_str(unsigned int wday);
int stepup_day_parse(const char *str, unsigned int *wday_r);

#endif
