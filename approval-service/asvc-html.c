/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "buffer.h"
#include "unichar.h"
#include "asvc-html.h"

void asvc_html_append(string_t *dest, const char *text)
{
	buffer_t *valid = t_buffer_create(strlen(text) + 8);
	const unsigned char *p;
	size_t i, size;

	if (!uni_utf8_get_valid_data((const unsigned char *)text,
				     strlen(text), valid))
		text = str_c(valid);
	p = (const unsigned char *)text;
	size = strlen(text);
	for (i = 0; i < size; i++) {
		switch (p[i]) {
		case '&': str_append(dest, "&amp;"); break;
		case '<': str_append(dest, "&lt;"); break;
		case '>': str_append(dest, "&gt;"); break;
		case '"': str_append(dest, "&quot;"); break;
		case '\'': str_append(dest, "&#39;"); break;
		default:
			if (p[i] < 0x20 || p[i] == 0x7f)
				break;
			str_append_c(dest, p[i]);
		}
	}
}

const char *asvc_html(const char *text)
{
	string_t *str = t_str_new(strlen(text) + 16);

	asvc_html_append(str, text);
	return str_c(str);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* NULL if malformed (a bad %-escape or a NUL) */
static const char *form_decode(const char *p, size_t len)
{
	string_t *out = t_str_new(len + 1);
	size_t i;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (p[i] == '+')
			str_append_c(out, ' ');
		else if (p[i] != '%')
			str_append_c(out, p[i]);
		else {
			if (i + 2 >= len)
				return NULL;
			hi = hexval(p[i + 1]);
			lo = hi < 0 ? -1 : hexval(p[i + 2]);
			if (lo < 0 || (hi == 0 && lo == 0))
				return NULL;
			str_append_c(out, (hi << 4) | lo);
			i += 2;
		}
	}
	return str_c(out);
}

const char *asvc_form_get(const char *body, const char *key)
{
	const char *p = body, *end, *eq, *name, *value = NULL;

	while (*p != '\0') {
		end = strchr(p, '&');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', end - p);
		if (eq != NULL) {
			name = form_decode(p, eq - p);
			if (name != NULL && strcmp(name, key) == 0) {
				if (value != NULL)
					return NULL;
				value = form_decode(eq + 1, end - eq - 1);
				if (value == NULL)
					return NULL;
			}
		}
		p = *end == '\0' ? end : end + 1;
	}
	return value;
}

const char *asvc_cookie_get(const char *header, const char *name)
{
	const char *const *parts;
	size_t len = strlen(name);

	if (header == NULL)
		return NULL;
	for (parts = t_strsplit(header, ";"); *parts != NULL; parts++) {
		const char *p = *parts;

		while (*p == ' ')
			p++;
		if (strncmp(p, name, len) == 0 && p[len] == '=')
			return p + len + 1;
	}
	return NULL;
}
