#ifndef STEPUP_APPROVAL_JSON_H
#define STEPUP_APPROVAL_JSON_H

/* A strict reader of one JSON object (RFC 8259) for the endpoint's
   answers: the same code on Dovecot 2.3 and 2.4 (whose JSON readers
   differ in kind), fuzzed with the response parser. Members are reported
   in order; nested objects and arrays are checked and skipped (reported
   as OBJECT/ARRAY without a value). Refused: anything after the object
   but whitespace, invalid UTF-8, raw control characters in strings,
   "\u0000", lone surrogates, nesting deeper than 32. */

enum stepup_approval_json_type {
	STEPUP_APPROVAL_JSON_STRING,
	STEPUP_APPROVAL_JSON_NUMBER,	/* value: the number's text */
	STEPUP_APPROVAL_JSON_TRUE,
	STEPUP_APPROVAL_JSON_FALSE,
	STEPUP_APPROVAL_JSON_NULL,
	STEPUP_APPROVAL_JSON_OBJECT,
	STEPUP_APPROVAL_JSON_ARRAY,
};

/* key and value (NULL unless STRING or NUMBER) live on the data stack
   until stepup_approval_json_object() returns. Return -1 with error_r to
   stop. */
typedef int
stepup_approval_json_member_t(void *context, const char *key,
			      enum stepup_approval_json_type type,
			      const char *value, const char **error_r);

/* 0, or -1 with error_r (data stack) */
int stepup_approval_json_object(const void *data, size_t size,
				stepup_approval_json_member_t *member,
				void *context, const char **error_r);

#endif
