#ifndef DOVECONF_DIALECT_H
#define DOVECONF_DIALECT_H

#include "doveconf-read.h"

/* What stepup doctor reads from `doveconf -n` is written differently by
   Dovecot 2.3 and 2.4 (2.4 prints dovecot_config_version first):

   2.3: passdb { driver = stepup  args = policy=FILE stage=verify },
        mail_plugins = $mail_plugins stepup, plugin { stepup_policy },
        passwd-file's file in args, $default_internal_user
   2.4: passdb NAME { driver = stepup  stepup_stage = verify } (the driver
        is the name unless set), mail_plugins { stepup = yes },
        stepup_policy at top level, passwd_file_path,
        $SET:default_internal_user

   These read either. */

bool doveconf_is_24(const struct doveconf_section *root);

/* The passdb's or userdb's driver, or NULL. */
const char *doveconf_db_driver(const struct doveconf_section *root,
			       const struct doveconf_section *db);
/* Whether a stepup passdb is the verify stage. */
bool doveconf_passdb_is_verify(const struct doveconf_section *root,
			       const struct doveconf_section *db);
/* A passwd-file passdb's or userdb's file, or NULL. */
const char *doveconf_passwd_file(const struct doveconf_section *root,
				 const struct doveconf_section *db);
/* Whether section s (root, or protocol imap) loads mail plugin name. */
bool doveconf_plugin_loaded(const struct doveconf_section *root,
			    const struct doveconf_section *s,
			    const char *name);
/* The stepup_policy setting, or NULL. */
const char *doveconf_stepup_policy(const struct doveconf_section *root);
/* Whether value names the internal user ($default_internal_user) or
   group ($default_internal_group). */
bool doveconf_is_internal_user(const char *value);
bool doveconf_is_internal_group(const char *value);

/* A fix spelled for the Dovecot that printed root. */
#define DOVECONF_FIX(root, fix23, fix24) \
	(doveconf_is_24(root) ? (fix24) : (fix23))

#endif
