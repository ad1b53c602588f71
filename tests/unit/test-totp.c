/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "buffer.h"
#include "test-common.h"
#include "stepup-totp.h"

#define SEED20 "12345678901234567890"
#define SEED32 "12345678901234567890123456789012"
#define SEED64 "1234567890123456789012345678901234567890123456789012345678901234"

static void settings(struct stepup_totp_settings *set,
		     enum stepup_totp_algorithm alg, unsigned int digits)
{
	stepup_totp_settings_defaults(set);
	set->algorithm = alg;
	set->digits = digits;
}

static void test_rfc6238_vectors(void)
{
	static const struct {
		time_t t;
		const char *sha1, *sha256, *sha512;
	} v[] = {
		{ 59, "94287082", "46119246", "90693936" },
		{ 1111111109, "07081804", "68084774", "25091201" },
		{ 1111111111, "14050471", "67062674", "99943326" },
		{ 1234567890, "89005924", "91819424", "93441116" },
		{ 2000000000, "69279037", "90698825", "38618901" },
		{ 20000000000LL, "65353130", "77737706", "47863826" },
	};
	struct stepup_totp_settings set;
	const char *error;
	char code[9];
	uint64_t counter;
	unsigned int i;

	test_begin("totp: RFC 6238 Appendix B (generate and verify)");
	for (i = 0; i < N_ELEMENTS(v); i++) {
		settings(&set, STEPUP_TOTP_SHA1, 8);
		test_assert_idx(stepup_totp_generate(&set, (const void *)SEED20, 20,
						     v[i].t, code, &error) == 0, i);
		test_assert_strcmp_idx(code, v[i].sha1, i);
		test_assert_idx(stepup_totp_verify(&set, (const void *)SEED20, 20,
			v[i].t, v[i].sha1, &counter, &error) == 1, i);
		test_assert_idx(counter == (uint64_t)(v[i].t / 30), i);

		settings(&set, STEPUP_TOTP_SHA256, 8);
		test_assert_idx(stepup_totp_generate(&set, (const void *)SEED32, 32,
						     v[i].t, code, &error) == 0, i);
		test_assert_strcmp_idx(code, v[i].sha256, i);
		test_assert_idx(stepup_totp_verify(&set, (const void *)SEED32, 32,
			v[i].t, v[i].sha256, &counter, &error) == 1, i);

		settings(&set, STEPUP_TOTP_SHA512, 8);
		test_assert_idx(stepup_totp_generate(&set, (const void *)SEED64, 64,
						     v[i].t, code, &error) == 0, i);
		test_assert_strcmp_idx(code, v[i].sha512, i);
		test_assert_idx(stepup_totp_verify(&set, (const void *)SEED64, 64,
			v[i].t, v[i].sha512, &counter, &error) == 1, i);
	}
	test_end();
}

static void test_rfc4226_vectors(void)
{
	static const char *const hotp[] = {
		"755224", "287082", "359152", "969429", "338314",
		"254676", "287922", "162583", "399871", "520489",
	};
	struct stepup_totp_settings set;
	const char *error;
	char code[9];
	unsigned int i;

	test_begin("totp: RFC 4226 HOTP vectors (as TOTP steps)");
	settings(&set, STEPUP_TOTP_SHA1, 6);
	for (i = 0; i < N_ELEMENTS(hotp); i++) {
		/* TOTP step i is HOTP counter i */
		test_assert_idx(stepup_totp_generate(&set, (const void *)SEED20,
			20, (time_t)i * 30, code, &error) == 0, i);
		test_assert_strcmp_idx(code, hotp[i], i);
	}
	test_end();
}

static void test_totp_input_checks(void)
{
	static const char *const bad[] = {
		"", "12345", "0287082", " 287082", "287082\n", "2870822",
		"28708a", "\xef\xbc\x92" "87082", "94287082",
	};
	struct stepup_totp_settings set;
	const char *error;
	uint64_t counter;
	unsigned int i;

	test_begin("totp: strict code input, window, secret length");
	settings(&set, STEPUP_TOTP_SHA1, 6);
	test_assert(stepup_totp_verify(&set, (const void *)SEED20, 20, 59,
				       "287082", &counter, &error) == 1);
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		test_assert_idx(stepup_totp_verify(&set, (const void *)SEED20, 20,
			59, bad[i], &counter, &error) == 0, i);
	}
	/* window 1 at t=59: counters 0,1,2 pass, 3 fails */
	test_assert(stepup_totp_verify(&set, (const void *)SEED20, 20, 59,
				       "755224", &counter, &error) == 1 && counter == 0);
	test_assert(stepup_totp_verify(&set, (const void *)SEED20, 20, 59,
				       "359152", &counter, &error) == 1 && counter == 2);
	test_assert(stepup_totp_verify(&set, (const void *)SEED20, 20, 59,
				       "969429", &counter, &error) == 0);
	set.window = 0;
	test_assert(stepup_totp_verify(&set, (const void *)SEED20, 20, 59,
				       "755224", &counter, &error) == 0);
	set.window = 3;
	test_assert(stepup_totp_verify(&set, (const void *)SEED20, 20, 59,
				       "287082", &counter, &error) == -1);
	set.window = 1;
	/* empty and short secrets: liboath would accept them */
	test_assert(stepup_totp_verify(&set, (const void *)"", 0, 59,
				       "812658", &counter, &error) == -1);
	test_assert(stepup_totp_verify(&set, (const void *)SEED20, 10, 59,
				       "287082", &counter, &error) == -1);
	test_end();
}

static void test_base32(void)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "MY" }, { "fo", "MZXQ" }, { "foo", "MZXW6" },
		{ "foob", "MZXW6YQ" }, { "fooba", "MZXW6YTB" },
		{ "foobar", "MZXW6YTBOI" },
	};
	static const char *const bad[] = {
		"mzxw6ytboi", "MZXW 6YTB OI", "MZXW6YTBOI======",
		"MZXW6YTBOJ", "MZXW6YTBO1", "A",
	};
	buffer_t *buf = t_buffer_create(32);
	unsigned int i;

	test_begin("totp: base32 canonical encode, strict decode");
	for (i = 0; i < N_ELEMENTS(v); i++) {
		test_assert_strcmp_idx(stepup_base32_encode(
			(const void *)v[i].in, strlen(v[i].in)), v[i].out, i);
		buffer_set_used_size(buf, 0);
		test_assert_idx(stepup_base32_decode(v[i].out, buf) == 0, i);
		test_assert_idx(buf->used == strlen(v[i].in) &&
				memcmp(buf->data, v[i].in, buf->used) == 0, i);
	}
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		buffer_set_used_size(buf, 0);
		test_assert_idx(stepup_base32_decode(bad[i], buf) == -1, i);
	}
	test_end();
}

static void test_uri(void)
{
	struct stepup_totp_settings set;

	test_begin("totp: otpauth URI");
	settings(&set, STEPUP_TOTP_SHA1, 6);
	set.issuer = "Example Ministry";
	test_assert_strcmp(stepup_totp_uri(&set, "alice@example.org",
					   (const void *)"foobar", 6),
		"otpauth://totp/Example%20Ministry:alice@example.org"
		"?secret=MZXW6YTBOI&issuer=Example%20Ministry"
		"&algorithm=SHA1&digits=6&period=30");
	test_assert_strcmp(stepup_totp_uri(&set, "a:b&c",
					   (const void *)"f", 1),
		"otpauth://totp/Example%20Ministry:a%3Ab%26c?secret=MY"
		"&issuer=Example%20Ministry&algorithm=SHA1&digits=6&period=30");
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_rfc6238_vectors,
		test_rfc4226_vectors,
		test_totp_input_checks,
		test_base32,
		test_uri,
		NULL
	};
	return test_run(test_functions);
}
