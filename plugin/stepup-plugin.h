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

#endif
