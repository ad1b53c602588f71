#ifndef CMD_AUDIT_H
#define CMD_AUDIT_H

#include "audit-verify.h"

struct stepup_cli;
struct stepup_audit_filter;

/* The stepup audit subcommands that read the log back share this: the
   files (FILE..., else the policy's audit.path), read once through the
   chain's verifier. */

int cmd_audit_paths(struct stepup_cli *cli, const char *const *args,
		    const char *const **paths_r);
/* the files as a JSON array */
const char *cmd_audit_paths_json(const char *const *paths);
/* Read paths, calling callback for every line. Returns STEPUP_EXIT_OK
   (verify_error_r NULL if the chain is intact, else the first break) or
   the exit status of a usage error (printed). */
int cmd_audit_read(const char *const *paths,
		   stepup_audit_line_callback_t *callback, void *context,
		   const char **verify_error_r, unsigned int *records_r);
/* cmd_audit_read() inside {"files": [...], "LIST": [ ... ] when --json:
   the callback prints the list's items; on success the object is left
   open for cmd_audit_finish(), on an error it is closed. */
int cmd_audit_read_list(struct stepup_cli *cli, const char *const *paths,
			const char *list,
			stepup_audit_line_callback_t *callback, void *context,
			const char **verify_error_r, unsigned int *records_r);
/* After the log was read: the end of the JSON object ("intact", "error"
   and the closing brace) if json, and on stderr where the chain breaks.
   Returns STEPUP_EXIT_REFUSED if it does, else ok_status. */
int cmd_audit_finish(bool json, const char *verify_error,
		     unsigned int records, int ok_status);
/* A field of the log as text for the terminal (no control characters);
   NULL becomes dflt. */
const char *cmd_audit_field(const char *value, const char *dflt);

int cmd_audit_report_reads(struct stepup_cli *cli, const char *const *paths,
			   const struct stepup_audit_filter *filter, bool csv);
int cmd_audit_anomalies(struct stepup_cli *cli, int argc, char *argv[]);

#endif
