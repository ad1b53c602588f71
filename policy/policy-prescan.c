/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The first stage: libconfig is never shown text it would mishandle.
   Refuses @include (libconfig 1.5 may exit() inside it) and integer
   literals it would silently wrap. */

#include "lib.h"
#include "policy-schema.h"

#include <ctype.h>

/* The largest integer any key takes; longer literals never reach
   libconfig, whose 1.5 parser wraps them silently. */
#define POLICY_INT_MAX_DIGITS 9

/* Skip strings and comments; refuse @include and long integers. */
void policy_prescan(struct policy_parser *p, const char *data, size_t size)
{
	unsigned int line = 1;
	size_t i = 0, start;

	while (i < size) {
		char c = data[i];

		if (c == '\n') {
			line++; i++;
		} else if (c == '"') {
			for (i++; i < size && data[i] != '"'; i++) {
				if (data[i] == '\\')
					i++;
				else if (data[i] == '\n')
					line++;
			}
			i++;
		} else if (c == '#' ||
			   (c == '/' && i + 1 < size && data[i + 1] == '/')) {
			while (i < size && data[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < size && data[i + 1] == '*') {
			for (i += 2; i + 1 < size &&
			     !(data[i] == '*' && data[i + 1] == '/'); i++) {
				if (data[i] == '\n')
					line++;
			}
			i += 2;
		} else if (c == '@') {
			policy_error(p, line, "@include and other directives "
				     "are not allowed: keep the policy in one "
				     "file");
			while (i < size && data[i] != '\n')
				i++;
		} else if (c >= '0' && c <= '9' &&
			   (i == 0 || !(i_isalnum(data[i - 1]) ||
					data[i - 1] == '_' ||
					data[i - 1] == '.'))) {
			start = i;
			while (i < size && i_isalnum(data[i]))
				i++;
			if (i - start > POLICY_INT_MAX_DIGITS) {
				policy_error(p, line, "number %s is out of "
					     "range",
					     t_strndup(data + start, i - start));
			}
		} else {
			i++;
		}
	}
}
