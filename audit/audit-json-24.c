/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Dovecot 2.4: lib-json's json-istream. */

#include "lib.h"
#include "istream.h"
#include "json-istream.h"
#include "audit-json.h"

int stepup_audit_json_members(const char *text,
			      stepup_audit_json_member_t *member,
			      void *context, const char **error_r)
{
	struct istream *input;
	struct json_istream *jinput;
	struct json_node node;
	size_t size = strlen(text);
	/* as 2.3's parser: no string longer than the record itself (the
	   default limits would refuse a long uids list or reason) */
	struct json_limits limits = {
		.max_name_size = I_MAX(size, 1),
		.max_string_size = I_MAX(size, 1),
		.max_nesting = JSON_DEFAULT_MAX_NESTING,
		.max_list_items = I_MAX(size, 1),
	};
	const char *error = NULL;
	int ret = 0;

	input = i_stream_create_from_data(text, size);
	jinput = json_istream_create_object(input, &limits, 0);
	while (ret == 0 && json_istream_read_next(jinput, &node) > 0) {
		if (json_node_is_end(&node))
			break;
		intmax_t num;

		if (json_node_is_string(&node))
			member(context, node.name, json_node_get_str(&node));
		else if (json_node_is_number(&node) &&
			 json_node_get_intmax(&node, &num) == 0 && num >= 0)
			member(context, node.name, dec2str((uintmax_t)num));
		else if (node.type == JSON_TYPE_NULL)
			member(context, node.name, NULL);
		else
			ret = -1;
	}
	if (ret == 0 && json_istream_finish(&jinput, &error) <= 0) {
		*error_r = error == NULL ? "truncated" : error;
		ret = -2;
	}
	json_istream_destroy(&jinput);
	i_stream_unref(&input);
	return ret;
}
