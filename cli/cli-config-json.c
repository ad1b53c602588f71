/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* policy dump --json: the canonical policy text (libconfig) read back and
   written as JSON: groups become objects, lists and arrays become arrays,
   durations stay the strings the dump writes. */

#include "lib.h"
#include "str.h"
#include "cli-common.h"

#include <libconfig.h>

static void setting_json(string_t *out, const config_setting_t *s)
{
	int i, count;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		str_append_c(out, '{');
		count = config_setting_length(s);
		for (i = 0; i < count; i++) {
			const config_setting_t *c = config_setting_get_elem(s, i);

			if (i > 0)
				str_append_c(out, ',');
			str_append(out, stepup_cli_json_str(
				config_setting_name(c)));
			str_append_c(out, ':');
			setting_json(out, c);
		}
		str_append_c(out, '}');
		break;
	case CONFIG_TYPE_LIST:
	case CONFIG_TYPE_ARRAY:
		str_append_c(out, '[');
		count = config_setting_length(s);
		for (i = 0; i < count; i++) {
			if (i > 0)
				str_append_c(out, ',');
			setting_json(out, config_setting_get_elem(s, i));
		}
		str_append_c(out, ']');
		break;
	case CONFIG_TYPE_INT:
		str_printfa(out, "%d", config_setting_get_int(s));
		break;
	case CONFIG_TYPE_INT64:
		str_printfa(out, "%lld", config_setting_get_int64(s));
		break;
	case CONFIG_TYPE_FLOAT:
		str_printfa(out, "%g", config_setting_get_float(s));
		break;
	case CONFIG_TYPE_BOOL:
		str_append(out, config_setting_get_bool(s) ? "true" : "false");
		break;
	case CONFIG_TYPE_STRING:
		str_append(out, stepup_cli_json_str(
			config_setting_get_string(s)));
		break;
	default:
		str_append(out, "null");
		break;
	}
}

int stepup_cli_config_to_json(const char *text, string_t *out,
			      const char **error_r)
{
	config_t config;

	config_init(&config);
	if (config_read_string(&config, text) != CONFIG_TRUE) {
		*error_r = t_strdup_printf("line %d: %s",
					   config_error_line(&config),
					   config_error_text(&config));
		config_destroy(&config);
		return -1;
	}
	setting_json(out, config_root_setting(&config));
	config_destroy(&config);
	return 0;
}
