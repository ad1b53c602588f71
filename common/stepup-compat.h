#ifndef STEPUP_COMPAT_H
#define STEPUP_COMPAT_H

/* The few Dovecot APIs that changed in name or place between 2.3 and 2.4,
   spelled the 2.4 way. Include after lib.h. Where the APIs differ in kind
   (settings, the passdb's preinit, the JSON reader) there is one file per
   version instead (plugin/NAME-23.c and NAME-24.c, audit/audit-json-2N.c),
   chosen by configure; doc/DESIGN.md lists them. */

#if DOVECOT_PREREQ(2, 4, 0)
#  define STEPUP_DOVECOT_24 1
/* json_append_escaped() */
#  include "json-generator.h"
/* mail_vfuncs.get_binary_stream(): the properties in one struct */
#  define STEPUP_BINARY_STREAM_PARAMS \
	struct mail_binary_properties *bprops_r
#  define STEPUP_BINARY_STREAM_ARGS bprops_r
/* the passdb chain: per protocol, mechanism filters */
#  define STEPUP_PASSDB_MECHANISMS(p) ((p)->mechanisms_filter)
#  define STEPUP_PASSDB_NAME(p) ((p)->name)
/* no args = in 2.4: the settings are in the passdb block */
#  define STEPUP_PASSDB_SET_ARGS(set) ""
#  define STEPUP_AUTH_REQUEST_PROTOCOL(req) ((req)->fields.protocol)
/* imap_get_error_string() lost its command argument */
#  define STEPUP_IMAP_ERROR_STRING(cmd, error, code) \
	imap_get_error_string(error, code)
#else
#  include "json-parser.h"
/* 2.4 gave str_begins() a third argument (the rest of the string) and
   named the two-argument form str_begins_with() */
#  define str_begins_with(haystack, needle) str_begins(haystack, needle)
#  define STEPUP_BINARY_STREAM_PARAMS \
	uoff_t *size_r, unsigned int *lines_r, bool *binary_r
#  define STEPUP_BINARY_STREAM_ARGS size_r, lines_r, binary_r
#  define STEPUP_PASSDB_MECHANISMS(p) ((p)->mechanisms)
#  define STEPUP_PASSDB_NAME(p) ((p)->passdb->iface.name)
#  define STEPUP_PASSDB_SET_ARGS(set) \
	((set)->args == NULL ? "" : (set)->args)
#  define STEPUP_AUTH_REQUEST_PROTOCOL(req) ((req)->fields.service)
#  define STEPUP_IMAP_ERROR_STRING(cmd, error, code) \
	imap_get_error_string(cmd, error, code)
#endif

/* The stepup-approval service's glue (service/stepup-approval-*.c) and
   its settings (approval-service/asvc-settings.c), spelled the 2.4 way
   where only a name changed; STEPUP_* where the shape changed. */
#if DOVECOT_PREREQ(2, 4, 0)
/* str_parse_get_interval() */
#  include "str-parse.h"
/* the auth master's REQUEST that finishes a login (lib-login) */
#  define STEPUP_LOGIN_INTERFACE_H "login-interface.h"
#  define STEPUP_LOGIN_SERVER_AUTH_H "login-server-auth.h"
#  define STEPUP_AUTH_INFO_PROTOCOL(info) ((info)->protocol)
#  define STEPUP_CONN_HAPROXIED(mconn) ((mconn)->haproxied)
#  define STEPUP_MASTER_SERVICE_SETTINGS_READ_SIMPLE(service, error_r) \
	master_service_settings_read_simple(service, error_r)
/* lib-http's server: flat request limits; the parent event an argument.
   TLS: the ssl_server_* settings (lib-ssl-iostream reads them) */
#  define STEPUP_HTTP_SERVER_SET_MAX_PAYLOAD(set, size) \
	((set)->request_max_payload_size = (size))
#  define STEPUP_HTTP_SERVER_INIT(set, event_parent) \
	http_server_init(set, event_parent)
/* lib-program-client: parameters, the event an argument, no privileges
   of its own to drop */
#  define STEPUP_PROGRAM_CLIENT_LOCAL_CREATE(event, path, params) \
	program_client_local_create(event, path, NULL, params)
#else
#  include "settings-parser.h"
#  define str_parse_get_interval(str, secs_r, error_r) \
	settings_get_time(str, secs_r, error_r)
#  define STEPUP_LOGIN_INTERFACE_H "master-auth.h"
#  define STEPUP_LOGIN_SERVER_AUTH_H "master-login-auth.h"
#  define login_request master_auth_request
#  define login_server_auth master_login_auth
#  define login_server_auth_init master_login_auth_init
#  define login_server_auth_deinit master_login_auth_deinit
#  define login_server_auth_set_timeout master_login_auth_set_timeout
#  define login_server_auth_request master_login_auth_request
#  define AUTH_REQUEST_FLAG_CONN_SECURED AUTH_REQUEST_FLAG_SECURED
#  define STEPUP_AUTH_INFO_PROTOCOL(info) ((info)->service)
#  define STEPUP_CONN_HAPROXIED(mconn) ((mconn)->proxied)
#  define STEPUP_MASTER_SERVICE_SETTINGS_READ_SIMPLE(service, error_r) \
	master_service_settings_read_simple(service, NULL, error_r)
/* TLS: master-service-ssl (ssl_cert, ssl_key) */
#  define http_server_settings_init(pool, set) i_zero(set)
#  define STEPUP_HTTP_SERVER_SET_MAX_PAYLOAD(set, size) \
	((set)->request_limits.max_payload_size = (size))
#  define STEPUP_HTTP_SERVER_INIT(set, event_parent) \
	((set)->event = (event_parent), http_server_init(set))
/* needs restrict-access.h */
#  define program_client_parameters program_client_settings
#  define STEPUP_PROGRAM_CLIENT_LOCAL_CREATE(_event, path, params) \
	((params)->event = (_event), \
	 restrict_access_init(&(params)->restrict_set), \
	 program_client_local_create(path, NULL, params))
#endif

#endif
