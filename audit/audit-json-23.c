/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Dovecot 2.3: the pull parser of lib/json-parser.h. */

#include "lib.h"
#include "istream.h"
#include "json-parser.h"
#include "audit-json.h"

int stepup_audit_json_members(const char *text,
			      stepup_audit_json_member_t *member,
			      void *context, const char **error_r)
{
	struct istream *input;
	struct json_parser *parser;
	enum json_type type;
	const char *key = NULL, *value, *error;
	int ret = 0;

	input = i_stream_create_from_data(text, strlen(text));
	parser = json_parser_init(input);
	while (ret == 0 && json_parse_next(parser, &type, &value) > 0) {
		if (key == NULL) {
			if (type != JSON_TYPE_OBJECT_KEY)
				ret = -1;
			else
				key = t_strdup(value);
			continue;
		}
		if (type == JSON_TYPE_STRING ||
		    (type == JSON_TYPE_NUMBER && value[0] != '-' &&
		     strspn(value, "0123456789") == strlen(value)))
			member(context, key, value);
		else if (type == JSON_TYPE_NULL)
			member(context, key, NULL);
		else
			ret = -1;
		key = NULL;
	}
	if (json_parser_deinit(&parser, &error) < 0 && ret == 0) {
		*error_r = error;
		ret = -2;
	}
	i_stream_unref(&input);
	return ret;
}
