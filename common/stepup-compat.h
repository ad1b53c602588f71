#ifndef STEPUP_COMPAT_H
#define STEPUP_COMPAT_H

/* The few Dovecot APIs that changed in name or place between 2.3 and 2.4,
   spelled the 2.4 way. Include after lib.h. Where the APIs differ in kind
   (settings, the passdb's preinit, the JSON reader) there is one file per
   version instead (plugin/stepup-settings-2N.c, audit/audit-json-2N.c),
   chosen by configure. */

#if DOVECOT_PREREQ(2, 4, 0)
#  define STEPUP_DOVECOT_24 1
/* json_append_escaped() */
#  include "json-generator.h"
#else
#  include "json-parser.h"
/* 2.4 gave str_begins() a third argument (the rest of the string) and
   named the two-argument form str_begins_with() */
#  define str_begins_with(haystack, needle) str_begins(haystack, needle)
#endif

#endif
