/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "unichar.h"
#include "approval-json.h"

#define JSON_MAX_DEPTH 32

struct json_reader {
	const unsigned char *p, *end;
	const char *error;
};

static void skip_ws(struct json_reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
				 *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int fail(struct json_reader *r, const char *error)
{
	if (r->error == NULL)
		r->error = error;
	return -1;
}

static int read_hex4(struct json_reader *r, unichar_t *chr_r)
{
	unsigned int i, v = 0;
	unsigned char c;

	if (r->end - r->p < 4)
		return fail(r, "truncated \\u escape");
	for (i = 0; i < 4; i++) {
		c = r->p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return fail(r, "invalid \\u escape");
	}
	r->p += 4;
	*chr_r = v;
	return 0;
}

static int read_escape(struct json_reader *r, string_t *dest)
{
	unichar_t chr, low;
	unsigned char c;

	if (r->p >= r->end)
		return fail(r, "truncated escape");
	c = *r->p++;
	switch (c) {
	case '"': case '\\': case '/':
		str_append_c(dest, c);
		return 0;
	case 'b': str_append_c(dest, '\b'); return 0;
	case 'f': str_append_c(dest, '\f'); return 0;
	case 'n': str_append_c(dest, '\n'); return 0;
	case 'r': str_append_c(dest, '\r'); return 0;
	case 't': str_append_c(dest, '\t'); return 0;
	case 'u':
		break;
	default:
		return fail(r, "invalid escape");
	}
	if (read_hex4(r, &chr) < 0)
		return -1;
	if (chr >= 0xdc00 && chr <= 0xdfff)
		return fail(r, "lone low surrogate");
	if (chr >= 0xd800 && chr <= 0xdbff) {
		if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
			return fail(r, "lone high surrogate");
		r->p += 2;
		if (read_hex4(r, &low) < 0)
			return -1;
		if (low < 0xdc00 || low > 0xdfff)
			return fail(r, "lone high surrogate");
		chr = 0x10000 + ((chr - 0xd800) << 10) + (low - 0xdc00);
	}
	if (chr == 0)
		return fail(r, "\\u0000 in a string");
	uni_ucs4_to_utf8_c(chr, dest);
	return 0;
}

/* after the opening quote */
static int read_string(struct json_reader *r, string_t *dest)
{
	const unsigned char *start;
	unichar_t chr;
	int n;

	for (;;) {
		start = r->p;
		while (r->p < r->end && *r->p != '"' && *r->p != '\\' &&
		       *r->p >= 0x20 && *r->p < 0x80)
			r->p++;
		str_append_data(dest, start, r->p - start);
		if (r->p >= r->end)
			return fail(r, "unterminated string");
		if (*r->p == '"') {
			r->p++;
			return 0;
		}
		if (*r->p == '\\') {
			r->p++;
			if (read_escape(r, dest) < 0)
				return -1;
		} else if (*r->p < 0x20) {
			return fail(r, "control character in a string");
		} else {
			n = uni_utf8_get_char_n(r->p, r->end - r->p, &chr);
			if (n <= 0 || !uni_is_valid_ucs4(chr))
				return fail(r, "invalid UTF-8");
			str_append_data(dest, r->p, n);
			r->p += n;
		}
	}
}

static bool is_digit(const struct json_reader *r)
{
	return r->p < r->end && *r->p >= '0' && *r->p <= '9';
}

static int read_number(struct json_reader *r, string_t *dest)
{
	const unsigned char *start = r->p;

	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (!is_digit(r))
		return fail(r, "invalid number");
	if (*r->p == '0')
		r->p++;
	else while (is_digit(r))
		r->p++;
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (!is_digit(r))
			return fail(r, "invalid number");
		while (is_digit(r))
			r->p++;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (!is_digit(r))
			return fail(r, "invalid number");
		while (is_digit(r))
			r->p++;
	}
	str_append_data(dest, start, r->p - start);
	return 0;
}

static int read_word(struct json_reader *r, const char *word)
{
	size_t len = strlen(word);

	if ((size_t)(r->end - r->p) < len || memcmp(r->p, word, len) != 0)
		return fail(r, "invalid value");
	r->p += len;
	return 0;
}

static int read_value(struct json_reader *r, unsigned int depth,
		      enum stepup_approval_json_type *type_r, string_t *dest);

/* after the opening bracket; values are checked, not kept */
static int skip_container(struct json_reader *r, unsigned int depth,
			  bool object)
{
	enum stepup_approval_json_type type;
	string_t *scratch = t_str_new(64);
	char close = object ? '}' : ']';

	if (depth >= JSON_MAX_DEPTH)
		return fail(r, "nested too deeply");
	skip_ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return 0;
	}
	for (;;) {
		skip_ws(r);
		if (object) {
			if (r->p >= r->end || *r->p != '"')
				return fail(r, "expected a key");
			r->p++;
			str_truncate(scratch, 0);
			if (read_string(r, scratch) < 0)
				return -1;
			skip_ws(r);
			if (r->p >= r->end || *r->p != ':')
				return fail(r, "expected ':'");
			r->p++;
		}
		str_truncate(scratch, 0);
		if (read_value(r, depth + 1, &type, scratch) < 0)
			return -1;
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			return 0;
		}
		return fail(r, "expected ',' or a closing bracket");
	}
}

static int read_value(struct json_reader *r, unsigned int depth,
		      enum stepup_approval_json_type *type_r, string_t *dest)
{
	skip_ws(r);
	if (r->p >= r->end)
		return fail(r, "expected a value");
	switch (*r->p) {
	case '"':
		r->p++;
		*type_r = STEPUP_APPROVAL_JSON_STRING;
		return read_string(r, dest);
	case '{':
	case '[':
		*type_r = *r->p == '{' ? STEPUP_APPROVAL_JSON_OBJECT :
			STEPUP_APPROVAL_JSON_ARRAY;
		r->p++;
		return skip_container(r, depth, *type_r ==
				      STEPUP_APPROVAL_JSON_OBJECT);
	case 't':
		*type_r = STEPUP_APPROVAL_JSON_TRUE;
		return read_word(r, "true");
	case 'f':
		*type_r = STEPUP_APPROVAL_JSON_FALSE;
		return read_word(r, "false");
	case 'n':
		*type_r = STEPUP_APPROVAL_JSON_NULL;
		return read_word(r, "null");
	default:
		*type_r = STEPUP_APPROVAL_JSON_NUMBER;
		return read_number(r, dest);
	}
}

static int
read_object(struct json_reader *r, stepup_approval_json_member_t *member,
	    void *context)
{
	enum stepup_approval_json_type type;
	string_t *key = t_str_new(32), *value = t_str_new(128);
	const char *error;

	skip_ws(r);
	if (r->p >= r->end || *r->p != '{')
		return fail(r, "not a JSON object");
	r->p++;
	skip_ws(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		return 0;
	}
	for (;;) {
		skip_ws(r);
		if (r->p >= r->end || *r->p != '"')
			return fail(r, "expected a key");
		r->p++;
		str_truncate(key, 0);
		str_truncate(value, 0);
		if (read_string(r, key) < 0)
			return -1;
		skip_ws(r);
		if (r->p >= r->end || *r->p != ':')
			return fail(r, "expected ':'");
		r->p++;
		if (read_value(r, 1, &type, value) < 0)
			return -1;
		if (member(context, str_c(key), type,
			   (type == STEPUP_APPROVAL_JSON_STRING ||
			    type == STEPUP_APPROVAL_JSON_NUMBER) ?
			   str_c(value) : NULL, &error) < 0)
			return fail(r, error);
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == '}') {
			r->p++;
			return 0;
		}
		return fail(r, "expected ',' or '}'");
	}
}

int stepup_approval_json_object(const void *data, size_t size,
				stepup_approval_json_member_t *member,
				void *context, const char **error_r)
{
	struct json_reader r;

	i_zero(&r);
	r.p = data;
	r.end = r.p + size;
	if (read_object(&r, member, context) < 0) {
		*error_r = t_strdup_printf("%s at byte %zu", r.error,
					   (size_t)(r.p - (const unsigned char *)data));
		return -1;
	}
	skip_ws(&r);
	if (r.p != r.end) {
		*error_r = t_strdup_printf("data after the object at byte %zu",
					   (size_t)(r.p - (const unsigned char *)data));
		return -1;
	}
	return 0;
}
