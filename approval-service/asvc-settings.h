#ifndef ASVC_SETTINGS_H
#define ASVC_SETTINGS_H

#include "asvc-session.h"

/* The service's own settings: the executable's arguments after the
   policy path, key=value each (doc/approvals.md):
     service stepup-approval {
       executable = stepup-approval /etc/dovecot/stepup.conf lifetime=15m
     } */
struct asvc_settings {
	/* a pending request expires this long after it arrived */
	unsigned int lifetime_secs;
	/* decided requests are kept (shown, answered) this long */
	unsigned int keep_secs;
	struct asvc_session_settings session;
	/* Dovecot's auth sockets, relative to base_dir: the login socket
	   for the password+code check, the master socket for the session
	   facts (the level) of a successful one */
	const char *auth_socket, *auth_master_socket;
	/* run with the new request as JSON on stdin; NULL: none */
	const char *notify_command;
	/* POST it there too (https://; webhook_ca_file: the CA of its
	   certificate, else the system's); NULL: none */
	const char *webhook, *webhook_ca_file;
	unsigned int notify_timeout_secs;
};

void asvc_settings_init(struct asvc_settings *set_r);
/* Unknown keys, bad values and duplicates are errors. */
int asvc_settings_parse(pool_t pool, const char *const *args,
			struct asvc_settings *set, const char **error_r);

#endif
