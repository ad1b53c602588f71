#ifndef STEPUP_PLUGIN_H
#define STEPUP_PLUGIN_H

#include "mail-error.h"

struct mail_user;
struct mailbox;

extern const char *stepup_plugin_version;

void stepup_plugin_init(struct module *module);
void stepup_plugin_deinit(void);

/* What the IMAP plugin (imap-stepup-plugin.c) asks of the mail plugin. */

#define STEPUP_MSG_FETCH_LIMIT \
	"Too many messages read from protected folders in a short time: " \
	"try again later."

/* Reads refused by a fetch_limit in this session so far. */
unsigned int stepup_plugin_limit_refusals(struct mail_user *user);
/* Whether message bodies read from box count against an enforced
   fetch_limit (so that a read may be refused). */
bool stepup_plugin_box_counts_reads(struct mailbox *box);
/* Count the read of message uid of folder vname against its fetch_limit
   before URLFETCH reads it (a refusal inside URLFETCH's read ends the
   command badly). 0 = counted or nothing to count; -1 = refused, with
   error_code_r and the text for the client in error_r. */
int stepup_plugin_count_url_read(struct mail_user *user, const char *vname,
				 uint32_t uid, enum mail_error *error_code_r,
				 const char **error_r);

/* For the imap_stepup plugin. The command being run may ask for an
   approval (SELECT and EXAMINE only). */
void stepup_plugin_set_asking(struct mail_user *user, bool asking);
/* An open that waits for an approval watches client_fd (the session ends
   the wait by closing it) and calls callback once when the request is
   pending, with the folder and the binding code to show. */
typedef void stepup_approval_pending_callback_t(void *context,
						const char *folder,
						const char *code);
void stepup_plugin_set_approval_client(struct mail_user *user, int client_fd,
				       stepup_approval_pending_callback_t *callback,
				       void *context);

#endif
