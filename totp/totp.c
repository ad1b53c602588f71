/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "buffer.h"
#include "stepup-totp.h"

#include <ctype.h>
#include <liboath/oath.h>

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

size_t stepup_totp_secret_size(enum stepup_totp_algorithm alg)
{
	switch (alg) {
	case STEPUP_TOTP_SHA1: return 20;
	case STEPUP_TOTP_SHA256: return 32;
	case STEPUP_TOTP_SHA512: return 64;
	}
	i_unreached();
}

static int oath_flags(enum stepup_totp_algorithm alg)
{
	switch (alg) {
	case STEPUP_TOTP_SHA1: return 0;
	case STEPUP_TOTP_SHA256: return OATH_TOTP_HMAC_SHA256;
	case STEPUP_TOTP_SHA512: return OATH_TOTP_HMAC_SHA512;
	}
	i_unreached();
}

bool stepup_totp_code_is_valid(const char *code, unsigned int digits)
{
	unsigned int i;

	for (i = 0; i < digits; i++) {
		if (code[i] < '0' || code[i] > '9')
			return FALSE;
	}
	return code[digits] == '\0';
}

static int
check_input(const struct stepup_totp_settings *set, size_t secret_len,
	    const char **error_r)
{
	if (secret_len < STEPUP_TOTP_SECRET_MIN ||
	    secret_len > STEPUP_TOTP_SECRET_MAX) {
		*error_r = t_strdup_printf("secret of %zu bytes refused",
					   secret_len);
		return -1;
	}
	if ((set->digits != 6 && set->digits != 8) || set->window > 2 ||
	    set->period == 0) {
		*error_r = "bad TOTP settings";
		return -1;
	}
	if (oath_init() != OATH_OK) {
		*error_r = "oath_init() failed";
		return -1;
	}
	return 0;
}

/* liboath's callback: 0 if and only if the candidate equals the code. */
static int timing_safe_cmp(void *handle, const char *test_otp)
{
	const char *code = handle;
	size_t len = strlen(code);

	if (strlen(test_otp) != len)
		return 1;
	return mem_equals_timing_safe(code, test_otp, len) ? 0 : 1;
}

int stepup_totp_verify(const struct stepup_totp_settings *set,
		       const unsigned char *secret, size_t secret_len,
		       time_t now, const char *code, uint64_t *counter_r,
		       const char **error_r)
{
	uint64_t counter = 0;
	int pos, rc;

	if (check_input(set, secret_len, error_r) < 0)
		return -1;
	if (!stepup_totp_code_is_valid(code, set->digits))
		return 0;
	rc = oath_totp_validate4_callback((const char *)secret, secret_len,
					  now, set->period, 0, set->digits,
					  set->window, &pos, &counter,
					  oath_flags(set->algorithm),
					  timing_safe_cmp, (void *)code);
	if (rc == OATH_INVALID_OTP)
		return 0;
	if (rc < 0) {
		/* every other negative value is a failure too */
		*error_r = t_strdup_printf("liboath: %s",
					   oath_strerror_name(rc));
		return -1;
	}
	*counter_r = counter;
	return 1;
}

int stepup_totp_generate(const struct stepup_totp_settings *set,
			 const unsigned char *secret, size_t secret_len,
			 time_t t, char code_r[9], const char **error_r)
{
	int rc;

	if (check_input(set, secret_len, error_r) < 0)
		return -1;
	rc = oath_totp_generate2((const char *)secret, secret_len, t,
				 set->period, 0, set->digits,
				 oath_flags(set->algorithm), code_r);
	if (rc != OATH_OK) {
		*error_r = t_strdup_printf("liboath: %s",
					   oath_strerror_name(rc));
		return -1;
	}
	return 0;
}

const char *stepup_base32_encode(const unsigned char *data, size_t size)
{
	string_t *str = t_str_new(size * 8 / 5 + 2);
	unsigned int bits = 0, value = 0;
	size_t i;

	for (i = 0; i < size; i++) {
		value = (value << 8) | data[i];
		bits += 8;
		while (bits >= 5) {
			str_append_c(str, b32_alphabet[(value >> (bits - 5)) & 31]);
			bits -= 5;
		}
	}
	if (bits > 0)
		str_append_c(str, b32_alphabet[(value << (5 - bits)) & 31]);
	return str_c(str);
}

int stepup_base32_decode(const char *str, buffer_t *dest)
{
	unsigned int bits = 0, value = 0;
	const char *p, *c;
	size_t len = strlen(str);
	unsigned char byte;

	/* lengths that cannot come from whole bytes */
	if (len % 8 == 1 || len % 8 == 3 || len % 8 == 6)
		return -1;
	for (p = str; *p != '\0'; p++) {
		c = strchr(b32_alphabet, *p);
		if (c == NULL)
			return -1;
		value = ((value << 5) | (unsigned int)(c - b32_alphabet)) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			byte = (value >> (bits - 8)) & 0xff;
			buffer_append_c(dest, byte);
			bits -= 8;
		}
	}
	/* the leftover bits must be zero (canonical) */
	if ((value & ((1U << bits) - 1)) != 0)
		return -1;
	return 0;
}

static void uri_escape(string_t *dest, const char *str)
{
	const unsigned char *p;

	for (p = (const unsigned char *)str; *p != '\0'; p++) {
		if (i_isalnum(*p) || *p == '-' || *p == '.' || *p == '_' ||
		    *p == '~' || *p == '@')
			str_append_c(dest, *p);
		else
			str_printfa(dest, "%%%02X", *p);
	}
}

const char *stepup_totp_uri(const struct stepup_totp_settings *set,
			    const char *user, const unsigned char *secret,
			    size_t secret_len)
{
	string_t *str = t_str_new(256);

	str_append(str, "otpauth://totp/");
	uri_escape(str, set->issuer);
	str_append_c(str, ':');
	uri_escape(str, user);
	str_append(str, "?secret=");
	str_append(str, stepup_base32_encode(secret, secret_len));
	str_append(str, "&issuer=");
	uri_escape(str, set->issuer);
	str_printfa(str, "&algorithm=%s&digits=%u&period=%u",
		    stepup_totp_algorithm_to_str(set->algorithm), set->digits,
		    set->period);
	return str_c(str);
}
