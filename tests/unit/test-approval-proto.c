/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-compat.h"
#include "str.h"
#include "buffer.h"
#include "hex-binary.h"
#include "hmac.h"
#include "sha2.h"
#include "test-common.h"
#include "approval-key.h"
#include "approval-json.h"
#include "approval-sign.h"
#include "approval-request.h"
#include "approval-response.h"
#include "approval-config.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

/* The worked example of doc/approvals.md; the hex values were computed
   independently (Python's hmac module; tests/integration/
   test_approval_doc.py recomputes them from the document). */
#define EX_KEY "0123456789abcdef0123456789abcdef"
#define EX_HOST "approvals.example.org"
#define EX_PATH "/v1/requests"
#define EX_TS "1764590400"
#define EX_NONCE "00112233445566778899aabbccddeeff"
#define EX_REQUEST_ID "0123456789abcdef0123456789abcdef"
#define EX_BODY \
	"{\"version\":1,\"request_id\":\"0123456789abcdef0123456789abcdef\"," \
	"\"user\":\"alice@example.org\",\"mailbox\":\"Confidentiel\"," \
	"\"session\":\"QzQkXq8bYgR/AAAB\",\"remote_ip\":\"192.0.2.10\"," \
	"\"protocol\":\"imap\",\"client\":\"Thunderbird\",\"rule\":\"hr\"," \
	"\"auth\":\"password\",\"binding_code\":\"42\"," \
	"\"created\":1764590400,\"expires\":1764591300}"
#define EX_REQUEST_SIG \
	"v1=1:e0b544bd84f8c752eeebef5a9b286b4046a72a33e4d7b80b9440e03f09638160"
#define EX_POLL_TS 1764590402
#define EX_POLL_NONCE "ffeeddccbbaa99887766554433221100"
#define EX_POLL_SIG \
	"v1=1:a156f0bbd9f364e70a5228d857855dbe4b6a1bec88a9c3b6133c127494b0ddee"
#define EX_RESPONSE_TS "1764590401"
#define EX_RESPONSE_BODY \
	"{\"decision\":\"approved\"," \
	"\"request_id\":\"0123456789abcdef0123456789abcdef\"," \
	"\"nonce\":\"00112233445566778899aabbccddeeff\",\"ttl\":900," \
	"\"approver\":\"carol@example.org\",\"reason\":\"ticket 4711\"}"
#define EX_RESPONSE_SIG \
	"v1=1:db4d4c8cac7fe27940d142983ee260808efeb9f5da872e3f4175595f44a1f8cc"

#define NOW 1764590401

static const char *tmp_dir;

static const char *fill(size_t n, char c)
{
	char *s = t_malloc0(n + 1);

	memset(s, c, n);
	return s;
}

static struct stepup_approval_keyring *example_keyring(void)
{
	struct stepup_approval_keyring *keyring;
	const char *error;

	keyring = stepup_approval_keyring_create();
	if (stepup_approval_keyring_add(keyring, "1", EX_KEY, strlen(EX_KEY),
					&error) < 0)
		i_fatal("%s", error);
	return keyring;
}

static void test_hmac_rfc4231(void)
{
	static const struct {
		const char *key_hex, *data_hex, *mac_hex;
	} tests[] = {
		/* test case 1 */
		{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
		  "4869205468657265",
		  "b0344c61d8db38535ca8afceaf0bf12b"
		  "881dc200c9833da726e9376c2e32cff7" },
		/* test case 2 */
		{ "4a656665",
		  "7768617420646f2079612077616e7420"
		  "666f72206e6f7468696e673f",
		  "5bdcc146bf60754e6a042426089575c7"
		  "5a003f089d2739839dec58b964ec3843" },
		/* test case 3 */
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "dddddddddddddddddddddddddddddddddddddddddddddddddd"
		  "dddddddddddddddddddddddddddddddddddddddddddddddddd",
		  "773ea91e36800e46854db8ebd09181a7"
		  "2959098b3ef8c122d9635514ced565fe" },
		/* test case 6: a key longer than the block */
		{ NULL,	/* 131 bytes of 0xaa */
		  "54657374205573696e67204c61726765"
		  "72205468616e20426c6f636b2d53697a"
		  "65204b6579202d2048617368204b6579"
		  "204669727374",
		  "60e431591ee0b67f0d8a26aacbf5b77f"
		  "8e0bc6213728c5140546040f0ee37f54" },
	};
	unsigned int i;

	test_begin("approval: HMAC-SHA256 (RFC 4231)");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		buffer_t *key = t_buffer_create(256), *data = t_buffer_create(256);
		buffer_t *mac;

		if (tests[i].key_hex == NULL)
			buffer_append(key, fill(131, '\xaa'), 131);
		else
			test_assert_idx(hex_to_binary(tests[i].key_hex, key) == 0, i);
		test_assert_idx(hex_to_binary(tests[i].data_hex, data) == 0, i);
		mac = t_hmac_buffer(&hash_method_sha256, key->data, key->used,
				    data);
		test_assert_strcmp_idx(binary_to_hex(mac->data, mac->used),
				       tests[i].mac_hex, i);
	}
	test_end();
}

static void write_file(const char *path, const char *data, size_t size,
		       mode_t mode)
{
	int fd;

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd == -1 || write(fd, data, size) != (ssize_t)size)
		i_fatal("write(%s): %m", path);
	i_close_fd(&fd);
	if (chmod(path, mode) < 0)
		i_fatal("chmod(%s): %m", path);
}

static void test_key_files(void)
{
	const char *path = t_strconcat(tmp_dir, "/approval.key", NULL);
	const char *link = t_strconcat(tmp_dir, "/link.key", NULL);
	struct stepup_approval_keyring *keyring;
	const struct stepup_approval_key *key;
	const char *error;
	string_t *big;

	test_begin("approval: key files");
	keyring = stepup_approval_keyring_create();
	test_assert(stepup_approval_keyring_signer(keyring) == NULL);

	/* one trailing newline is dropped, and only one */
	write_file(path, EX_KEY "\n", 33, 0600);
	test_assert(stepup_approval_key_file_check(path, &error) == 0);
	test_assert(stepup_approval_keyring_add_file(keyring, "2026-11", path,
						     &error) == 0);
	key = stepup_approval_keyring_find(keyring, "2026-11");
	test_assert(key != NULL && key->secret->used == 32 &&
		    memcmp(key->secret->data, EX_KEY, 32) == 0);
	write_file(path, EX_KEY "\n\n", 34, 0640);
	test_assert(stepup_approval_keyring_add_file(keyring, "old", path,
						     &error) == 0);
	key = stepup_approval_keyring_find(keyring, "old");
	test_assert(key != NULL && key->secret->used == 33);
	/* the first key signs */
	test_assert_strcmp(stepup_approval_keyring_signer(keyring)->id,
			   "2026-11");
	test_assert(stepup_approval_keyring_count(keyring) == 2);
	/* the same id twice */
	test_assert(stepup_approval_keyring_add_file(keyring, "old", path,
						     &error) < 0);
	test_assert(strstr(error, "twice") != NULL);
	/* ids travel in a header */
	test_assert(stepup_approval_keyring_add_file(keyring, "a:b", path,
						     &error) < 0);
	test_assert(stepup_approval_keyring_add_file(keyring, "a b", path,
						     &error) < 0);
	test_assert(stepup_approval_keyring_add_file(keyring, "", path,
						     &error) < 0);
	test_assert(!stepup_approval_key_id_is_valid(fill(65, 'a')));
	test_assert(stepup_approval_key_id_is_valid(fill(64, 'a')));

	/* too short: 31 bytes + newline */
	write_file(path, "0123456789abcdef0123456789abcde\n", 32, 0600);
	test_assert(stepup_approval_key_file_check(path, &error) < 0);
	test_assert(strstr(error, "at least 32") != NULL);
	/* too long */
	big = t_str_new(STEPUP_APPROVAL_KEY_MAX + 2);
	str_append(big, fill(STEPUP_APPROVAL_KEY_MAX + 1, 'k'));
	write_file(path, str_c(big), str_len(big), 0600);
	test_assert(stepup_approval_key_file_check(path, &error) < 0);
	test_assert(strstr(error, "at most") != NULL);
	/* readable by others, writable by group */
	write_file(path, EX_KEY, 32, 0604);
	test_assert(stepup_approval_key_file_check(path, &error) < 0);
	test_assert(strstr(error, "readable by others") != NULL);
	write_file(path, EX_KEY, 32, 0660);
	test_assert(stepup_approval_key_file_check(path, &error) < 0);
	/* owned by someone else */
	write_file(path, EX_KEY, 32, 0600);
	if (geteuid() == 0) {
		test_assert(chown(path, 65534, 65534) == 0);
		test_assert(stepup_approval_key_file_check(path, &error) < 0);
		test_assert(strstr(error, "owned by") != NULL);
		test_assert(chown(path, 0, 0) == 0);
	}
	/* a symlink, a directory, a missing file */
	test_assert(symlink(path, link) == 0);
	test_assert(stepup_approval_key_file_check(link, &error) < 0);
	test_assert(stepup_approval_key_file_check(tmp_dir, &error) < 0);
	test_assert(stepup_approval_key_file_check(
		t_strconcat(tmp_dir, "/none", NULL), &error) < 0);
	test_assert(stepup_approval_keyring_count(keyring) == 2);
	stepup_approval_keyring_free(&keyring);
	test_assert(keyring == NULL);
	test_end();
}

static void test_settings_check(void)
{
	const char *key = t_strconcat(tmp_dir, "/c-approval.key", NULL);
	const char *ca = t_strconcat(tmp_dir, "/ca.pem", NULL);
	const char *ckey = t_strconcat(tmp_dir, "/client.key", NULL);
	struct stepup_approval_keyring *keyring;
	struct stepup_approval_settings set;
	struct stepup_approval_key_file *kf;
	ARRAY_TYPE(const_string) problems;
	const char *const *p, *error;

	test_begin("approval: policy check of the approval block's files");
	write_file(key, EX_KEY "\n", 33, 0640);
	write_file(ca, "x\n-----BEGIN CERTIFICATE-----\nMIIB\n"
		   "-----END CERTIFICATE-----\n", 61, 0644);
	write_file(ckey, "-----BEGIN PRIVATE KEY-----\nMII\n", 32, 0600);
	i_zero(&set);
	t_array_init(&set.keys, 2);
	set.url = "https://a.example/v1";
	kf = array_append_space(&set.keys);
	kf->id = "new";
	kf->file = key;
	set.ca_file = ca;
	set.client_cert = ca;
	set.client_key = ckey;
	t_array_init(&problems, 4);
	stepup_approval_settings_check(&set, &problems);
	test_assert(array_count(&problems) == 0);
	test_assert(stepup_approval_keyring_load(&set, &keyring, &error) == 0);
	test_assert_strcmp(stepup_approval_keyring_signer(keyring)->id, "new");
	stepup_approval_keyring_free(&keyring);

	/* every problem at once */
	kf = array_append_space(&set.keys);
	kf->id = "old";
	kf->file = t_strconcat(tmp_dir, "/missing.key", NULL);
	set.url = "http://a.example/v1";
	set.ca_file = key;		/* no PEM in it */
	set.client_cert = ckey;		/* a key, not a certificate */
	set.client_key = ca;		/* readable by others, and no key */
	set.pin = "sha256//x";
	stepup_approval_settings_check(&set, &problems);
	array_append_zero(&problems);
	p = array_front(&problems);
	test_assert(str_array_length(p) == 6);
	test_assert(str_array_length(p) == 6 &&
		    str_begins_with(p[0], "approval.url: ") &&
		    str_begins_with(p[1], "approval key \"old\": open(") &&
		    strstr(p[2], "approval.ca_file: ") != NULL &&
		    strstr(p[2], "holds no PEM CERTIFICATE") != NULL &&
		    strstr(p[3], "approval.client_cert: ") != NULL &&
		    strstr(p[4], "approval.client_key: ") != NULL &&
		    strstr(p[4], "readable by others") != NULL &&
		    str_begins_with(p[5], "approval.pin: "));
	test_assert(stepup_approval_keyring_load(&set, &keyring, &error) < 0);
	test_assert(strstr(error, "\"old\"") != NULL);

	/* pins */
	test_assert(stepup_approval_pin_check(
		"sha256//n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=", &error) == 0);
	test_assert(stepup_approval_pin_check(
		"sha256//n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg= ", &error) < 0);
	test_assert(stepup_approval_pin_check("", &error) < 0);
	test_end();
}

static void test_url_parse(void)
{
	static const struct {
		const char *url, *host, *path, *query, *full;
	} good[] = {
		{ "https://approvals.example.org/v1/requests",
		  "approvals.example.org", "/v1/requests", "",
		  "https://approvals.example.org/v1/requests" },
		{ "HTTPS://Approvals.Example.ORG:8443/v1/Req?tenant=A",
		  "approvals.example.org:8443", "/v1/Req?tenant=A", "?tenant=A",
		  "https://approvals.example.org:8443/v1/Req?tenant=A" },
		{ "https://a.example", "a.example", "/", "",
		  "https://a.example/" },
		{ "https://a.example?x=1", "a.example", "/?x=1", "?x=1",
		  "https://a.example/?x=1" },
		{ "https://a.example:443/", "a.example:443", "/", "",
		  "https://a.example:443/" },
		{ "http://127.0.0.1:8080/approve", "127.0.0.1:8080",
		  "/approve", "", "http://127.0.0.1:8080/approve" },
		{ "http://[::1]:8080/a", "[::1]:8080", "/a", "",
		  "http://[::1]:8080/a" },
		{ "https://[2001:DB8::1]/a", "[2001:db8::1]", "/a", "",
		  "https://[2001:db8::1]/a" },
	};
	static const char *const bad[] = {
		"http://approvals.example.org/v1",
		"http://localhost:8080/",
		"http://127.0.0.2/",
		"http://[::2]/",
		"ftp://a.example/",
		"https:/a.example/",
		"https://",
		"https:///path",
		"https://user:pw@a.example/",
		"https://a.example/#frag",
		"https://a.example/a b",
		"https://a.example/\x01",
		"https://a.exam\xc3\xa9ple/",
		"https://a.example:0/",
		"https://a.example:65536/",
		"https://a.example:/",
		"https://a.example:80x/",
		"https://a_b.example/",
		"https://[::1/",
		"https://[zz::1]/",
		"https://[::1]x/",
		"https://[127.0.0.1]/",
	};
	struct stepup_approval_url url;
	const char *error;
	unsigned int i;

	test_begin("approval: URL");
	for (i = 0; i < N_ELEMENTS(good); i++) {
		test_assert_idx(stepup_approval_url_parse(
			pool_datastack_create(), good[i].url, &url, &error) == 0, i);
		test_assert_strcmp_idx(url.host, good[i].host, i);
		test_assert_strcmp_idx(url.path, good[i].path, i);
		test_assert_strcmp_idx(url.query, good[i].query, i);
		test_assert_strcmp_idx(url.url, good[i].full, i);
	}
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		test_assert_idx(stepup_approval_url_parse(
			pool_datastack_create(), bad[i], &url, &error) < 0, i);
	}
	test_end();
}

static int pairs_member(void *context, const char *key,
			enum stepup_approval_json_type type ATTR_UNUSED,
			const char *value, const char **error_r ATTR_UNUSED)
{
	ARRAY_TYPE(const_string) *pairs = context;

	key = t_strdup(key);
	array_push_back(pairs, &key);
	value = t_strdup(value == NULL ? "" : value);
	array_push_back(pairs, &value);
	return 0;
}

/* A flat JSON object as key, value, key, value ... */
static const char *const *json_pairs(const char *json)
{
	ARRAY_TYPE(const_string) pairs;
	const char *error;

	t_array_init(&pairs, 32);
	if (stepup_approval_json_object(json, strlen(json), pairs_member,
					&pairs, &error) < 0)
		array_clear(&pairs);
	array_append_zero(&pairs);
	return array_front(&pairs);
}

static int count_member(void *context, const char *key ATTR_UNUSED,
			enum stepup_approval_json_type type ATTR_UNUSED,
			const char *value ATTR_UNUSED,
			const char **error_r ATTR_UNUSED)
{
	unsigned int *count = context;

	(*count)++;
	return 0;
}

static void test_json(void)
{
	static const char *const good[] = {
		"{}", " {\t}\r\n", "{\"a\":1}",
		"{\"a\":-0,\"b\":1.25e+3,\"c\":0.5E-2,\"d\":123456789012345678901}",
		"{\"a\":true,\"b\":false,\"c\":null}",
		"{\"a\":{\"b\":[1,[2,{}],\"x\"],\"c\":{}},\"d\":[]}",
		"{\"\":\"\"}",
	};
	static const char *const bad[] = {
		"", " ", "[]", "\"a\"", "1", "{", "}", "{\"a\"}", "{\"a\":}",
		"{\"a\":1,}", "{,}", "{\"a\":1 \"b\":2}", "{'a':1}", "{a:1}",
		"{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}",
		"{\"a\":+1}", "{\"a\":1e}", "{\"a\":0x10}", "{\"a\":NaN}",
		"{\"a\":tru}", "{\"a\":nul}", "{\"a\":True}",
		"{\"a\":\"x}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
		"{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}",
		"{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud800\\u0041\"}",
		"{\"a\":\"\t\"}", "{\"a\":\"\x01\"}",
		"{\"a\":\"\xff\"}", "{\"a\":\"\xc0\x80\"}", "{\"a\":\"\xc3\"}",
		"{\"a\":\"\xed\xa0\x80\"}", "{\"a\":[1,]}", "{\"a\":[1 2]}",
		"{\"a\":{\"b\"}}", "{}x", "{}{}", "{} ,",
	};
	const char *const *pairs, *error;
	string_t *deep;
	unsigned int i, count = 0;

	test_begin("approval: JSON reader");
	for (i = 0; i < N_ELEMENTS(good); i++) {
		test_assert_idx(stepup_approval_json_object(good[i],
			strlen(good[i]), count_member, &count, &error) == 0, i);
	}
	test_assert(count == 11);
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		test_assert_idx(stepup_approval_json_object(bad[i],
			strlen(bad[i]), count_member, &count, &error) < 0, i);
	}
	/* a NUL is not whitespace */
	test_assert(stepup_approval_json_object("{}\0", 3, count_member,
		&count, &error) < 0);

	pairs = json_pairs("{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\","
			   "\"u\":\"\\u00e9\\u20AC\\ud83d\\udd11\xe2\x82\xac\","
			   "\"n\":-1.5e3,\"z\":null,\"o\":{\"x\":1}}");
	test_assert(str_array_length(pairs) == 10);
	test_assert_strcmp(pairs[1], "a\"b\\c/d\b\f\n\r\t");
	test_assert_strcmp(pairs[3],
		"\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91\xe2\x82\xac");
	test_assert_strcmp(pairs[5], "-1.5e3");
	test_assert_strcmp(pairs[6], "z");
	test_assert_strcmp(pairs[8], "o");

	/* nesting: 32 levels, not 33 */
	deep = t_str_new(128);
	str_append(deep, "{\"a\":");
	for (i = 0; i < 31; i++)
		str_append_c(deep, '[');
	for (i = 0; i < 31; i++)
		str_append_c(deep, ']');
	str_append_c(deep, '}');
	test_assert(stepup_approval_json_object(str_data(deep), str_len(deep),
		count_member, &count, &error) == 0);
	str_insert(deep, 5, "[");
	str_insert(deep, str_len(deep) - 1, "]");
	test_assert(stepup_approval_json_object(str_data(deep), str_len(deep),
		count_member, &count, &error) < 0);
	test_end();
}

static void test_request_body(void)
{
	struct stepup_approval_request_info info = {
		.request_id = EX_REQUEST_ID,
		.user = "alice@example.org",
		.mailbox = "Confidentiel",
		.session = "QzQkXq8bYgR/AAAB",
		.remote_ip = "192.0.2.10",
		.protocol = "imap",
		.client = "Thunderbird",
		.rule = "hr",
		.auth = "password",
		.binding_code = "42",
		.created = 1764590400,
		.expires = 1764591300,
	};
	string_t *body = t_str_new(512);
	const char *const *pairs, *longname;

	test_begin("approval: request body");
	stepup_approval_request_body(body, &info);
	test_assert_strcmp(str_c(body), EX_BODY);

	/* hostile names stay inside their strings */
	longname = fill(4096, 'x');
	info.user = "Sec\"ret\\\n\r\t\x01 \x7f";
	info.mailbox = "&AH8-/\xe2\x82\xac/\xf0\x9f\x94\x91";
	info.client = "bad\xff\xc3utf8";
	info.rule = longname;
	info.session = NULL;
	str_truncate(body, 0);
	stepup_approval_request_body(body, &info);
	pairs = json_pairs(str_c(body));
	test_assert(str_array_length(pairs) == 26);
	test_assert_strcmp(pairs[4], "user");
	test_assert_strcmp(pairs[5], info.user);
	test_assert_strcmp(pairs[7], info.mailbox);
	test_assert_strcmp(pairs[8], "session");
	test_assert_strcmp(pairs[9], "");
	test_assert_strcmp(pairs[15], "bad\xef\xbf\xbd\xef\xbf\xbdutf8");
	test_assert_strcmp(pairs[17], longname);
	test_assert(strchr(str_c(body), '\n') == NULL &&
		    strchr(str_c(body), '\x01') == NULL);
	test_end();
}

static void test_request_signing(void)
{
	struct stepup_approval_keyring *keyring = example_keyring();
	const struct stepup_approval_key *key =
		stepup_approval_keyring_signer(keyring);
	struct stepup_approval_http_request req;
	struct stepup_approval_url url;
	const char *error, *key_id;
	pool_t pool = pool_datastack_create();

	test_begin("approval: request signature (the documented example)");
	test_assert(stepup_approval_url_parse(pool,
		"https://Approvals.Example.org/v1/requests", &url, &error) == 0);
	stepup_approval_http_post(pool, &url, key, EX_BODY, 1764590400,
				  EX_NONCE, &req);
	test_assert_strcmp(req.method, "POST");
	test_assert_strcmp(req.url, "https://approvals.example.org/v1/requests");
	test_assert_strcmp(req.host, EX_HOST);
	test_assert_strcmp(req.path, EX_PATH);
	test_assert_strcmp(req.timestamp, EX_TS);
	test_assert_strcmp(req.nonce, EX_NONCE);
	test_assert_strcmp(req.signature, EX_REQUEST_SIG);
	test_assert(req.body_size == strlen(EX_BODY));
	test_assert(str_array_length(req.headers) == 5);
	test_assert_strcmp(req.headers[0], "Host: " EX_HOST);
	test_assert_strcmp(req.headers[1], "Content-Type: application/json");
	test_assert_strcmp(req.headers[2], "X-Stepup-Timestamp: " EX_TS);
	test_assert_strcmp(req.headers[3], "X-Stepup-Nonce: " EX_NONCE);
	test_assert_strcmp(req.headers[4],
			   "X-Stepup-Signature: " EX_REQUEST_SIG);
	/* the endpoint's side */
	test_assert(stepup_approval_verify_request(keyring, req.signature,
		"POST", EX_HOST, EX_PATH, EX_TS, EX_NONCE, EX_BODY,
		strlen(EX_BODY), &key_id) == STEPUP_APPROVAL_FAIL_NONE);
	test_assert_strcmp(key_id, "1");
	test_assert(stepup_approval_verify_request(keyring, req.signature,
		"POST", EX_HOST ":443", EX_PATH, EX_TS, EX_NONCE, EX_BODY,
		strlen(EX_BODY), &key_id) == STEPUP_APPROVAL_FAIL_SIGNATURE);
	test_assert(stepup_approval_verify_request(keyring, req.signature,
		"GET", EX_HOST, EX_PATH, EX_TS, EX_NONCE, EX_BODY,
		strlen(EX_BODY), &key_id) == STEPUP_APPROVAL_FAIL_SIGNATURE);

	/* the poll */
	stepup_approval_http_poll(pool, &url, key, EX_REQUEST_ID, EX_POLL_TS,
				  EX_POLL_NONCE, &req);
	test_assert_strcmp(req.method, "GET");
	test_assert_strcmp(req.path, EX_PATH "/" EX_REQUEST_ID);
	test_assert_strcmp(req.url, "https://" EX_HOST EX_PATH "/"
			   EX_REQUEST_ID);
	test_assert(req.body_size == 0 && *req.body == '\0');
	test_assert_strcmp(req.signature, EX_POLL_SIG);
	test_assert(str_array_length(req.headers) == 4);
	test_assert_strcmp(req.headers[0], "Host: " EX_HOST);
	test_assert_strcmp(req.headers[1], "X-Stepup-Timestamp: 1764590402");

	/* a trailing slash and a query */
	test_assert(stepup_approval_url_parse(pool,
		"https://a.example:8443/v1/?t=x", &url, &error) == 0);
	stepup_approval_http_poll(pool, &url, key, EX_REQUEST_ID, EX_POLL_TS,
				  NULL, &req);
	test_assert_strcmp(req.path, "/v1/" EX_REQUEST_ID "?t=x");
	test_assert_strcmp(req.url, "https://a.example:8443/v1/"
			   EX_REQUEST_ID "?t=x");
	test_assert(stepup_approval_is_hex_id(req.nonce));
	test_assert_strcmp(req.headers[0], "Host: a.example:8443");
	stepup_approval_keyring_free(&keyring);
	test_end();
}

static void test_random(void)
{
	const char *ids[200], *code;
	unsigned int i, j, seen[100] = { 0 };

	test_begin("approval: request ids, nonces, binding codes");
	for (i = 0; i < N_ELEMENTS(ids); i++) {
		ids[i] = stepup_approval_random_hex();
		test_assert_idx(stepup_approval_is_hex_id(ids[i]), i);
		for (j = 0; j < i; j++)
			test_assert_idx(strcmp(ids[i], ids[j]) != 0, i);
	}
	test_assert(!stepup_approval_is_hex_id("0123456789ABCDEF0123456789abcdef"));
	test_assert(!stepup_approval_is_hex_id("0123456789abcdef0123456789abcde"));
	test_assert(!stepup_approval_is_hex_id("0123456789abcdef0123456789abcdef0"));
	for (i = 0; i < 2000; i++) {
		code = stepup_approval_binding_code();
		test_assert_idx(strlen(code) == 2 && i_isdigit(code[0]) &&
				i_isdigit(code[1]), i);
		seen[(code[0] - '0') * 10 + (code[1] - '0')]++;
	}
	/* not constant (the odds of a false failure are nil) */
	for (i = j = 0; i < 100; i++)
		j += seen[i] > 0 ? 1 : 0;
	test_assert(j > 50);
	test_end();
}

struct resp_case {
	unsigned int status;
	const char *body, *ts, *sig, *retry_after;
};

/* A response to EX_REQUEST_ID/EX_NONCE, signed by key "1" unless sig is
   given, with the timestamp ts (default NOW). */
static int parse_case(const struct stepup_approval_keyring *keyring,
		      const struct resp_case *c,
		      struct stepup_approval_response *resp_r,
		      enum stepup_approval_failure *failure_r)
{
	struct stepup_approval_http_response http;
	const char *ts = c->ts != NULL ? c->ts : dec2str(NOW);
	const char *error;

	i_zero(&http);
	http.status = c->status == 0 ? 200 : c->status;
	http.timestamp = ts;
	http.body = c->body;
	http.body_size = c->body == NULL ? 0 : strlen(c->body);
	http.retry_after = c->retry_after;
	http.signature = c->sig != NULL ? c->sig :
		stepup_approval_sign_response(
			stepup_approval_keyring_signer(keyring), EX_NONCE, ts,
			http.body, http.body_size);
	return stepup_approval_response_parse(pool_datastack_create(), keyring,
		EX_REQUEST_ID, EX_NONCE, NOW, &http, resp_r, failure_r, &error);
}

#define ECHO "\"request_id\":\"" EX_REQUEST_ID "\",\"nonce\":\"" EX_NONCE "\""

static void test_response_ok(void)
{
	struct stepup_approval_keyring *keyring = example_keyring();
	struct stepup_approval_http_response http;
	struct stepup_approval_response resp;
	enum stepup_approval_failure failure;
	struct resp_case c;
	const char *error;

	test_begin("approval: responses that verify");
	/* the documented example */
	i_zero(&http);
	http.status = 200;
	http.timestamp = EX_RESPONSE_TS;
	http.signature = EX_RESPONSE_SIG;
	http.body = EX_RESPONSE_BODY;
	http.body_size = strlen(EX_RESPONSE_BODY);
	test_assert(stepup_approval_response_parse(pool_datastack_create(),
		keyring, EX_REQUEST_ID, EX_NONCE, NOW, &http, &resp, &failure,
		&error) == 0);
	test_assert(resp.decision == STEPUP_APPROVAL_DECISION_APPROVED);
	test_assert(resp.have_ttl && resp.ttl_secs == 900);
	test_assert_strcmp(resp.approver, "carol@example.org");
	test_assert_strcmp(resp.reason, "ticket 4711");
	test_assert(resp.message == NULL);
	test_assert_strcmp(resp.key_id, "1");
	test_assert(!resp.throttled);

	/* pending, with poll_after; unknown keys (even nested) are skipped */
	i_zero(&c);
	c.body = "{\"decision\":\"pending\"," ECHO ",\"poll_after\":3,"
		"\"future\":{\"a\":[1,{\"b\":2}]},\"x\":[],\"ttl\":null}";
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);
	test_assert(resp.decision == STEPUP_APPROVAL_DECISION_PENDING);
	test_assert(resp.poll_after_secs == 3 && !resp.have_ttl);

	/* denied, with a message that is cleaned and bounded */
	c.body = t_strconcat("{\"decision\":\"denied\"," ECHO ",\"message\":"
		"\"Not now\\nBob\\u0007 \\u202e!\\u0085x\",\"reason\":\"",
		fill(1000, 'r'), "\",\"approver\":\"\\u00e9",
		fill(300, 'a'), "\"}", NULL);
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);
	test_assert(resp.decision == STEPUP_APPROVAL_DECISION_DENIED);
	test_assert_strcmp(resp.message, "Not nowBob !x");
	test_assert(strlen(resp.reason) == STEPUP_APPROVAL_REASON_MAX);
	/* cut at a character boundary */
	test_assert(strlen(resp.approver) == STEPUP_APPROVAL_APPROVER_MAX);
	test_assert(memcmp(resp.approver, "\xc3\xa9", 2) == 0);

	c.body = "{\"decision\":\"expired\"," ECHO ",\"ttl\":99999999999}";
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);
	test_assert(resp.decision == STEPUP_APPROVAL_DECISION_EXPIRED);
	test_assert(resp.ttl_secs == STEPUP_APPROVAL_TTL_MAX);

	/* 300 s off either way is still fresh */
	c.body = "{\"decision\":\"pending\"," ECHO "}";
	c.ts = dec2str(NOW + 300);
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);
	c.ts = dec2str(NOW - 300);
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);

	/* 429 and 503 are pending, signed or not, with Retry-After */
	i_zero(&c);
	c.status = 429;
	c.sig = "";
	c.retry_after = "7";
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);
	test_assert(resp.decision == STEPUP_APPROVAL_DECISION_PENDING &&
		    resp.throttled && resp.retry_after_secs == 7);
	c.status = 503;
	c.retry_after = NULL;
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);
	test_assert(resp.throttled && resp.retry_after_secs == 0);
	c.retry_after = "99999999";
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);
	test_assert(resp.retry_after_secs == STEPUP_APPROVAL_POLL_AFTER_MAX);
	c.retry_after = "Mon, 01 Dec 2025 12:00:20 GMT";
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);
	test_assert(resp.retry_after_secs == 1764590420 - NOW);
	c.retry_after = "soon";
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);
	test_assert(resp.retry_after_secs == 0);
	stepup_approval_keyring_free(&keyring);
	test_end();
}

static void test_response_rotation(void)
{
	struct stepup_approval_keyring *keyring, *old_only;
	struct stepup_approval_response resp;
	enum stepup_approval_failure failure;
	const char *ts = dec2str(NOW), *error, *sig_old, *sig_new, *sig_x;
	struct resp_case c;

	test_begin("approval: key rotation");
	keyring = stepup_approval_keyring_create();
	old_only = stepup_approval_keyring_create();
	test_assert(stepup_approval_keyring_add(keyring, "new",
		"NEW-0123456789abcdef0123456789abcdef", 36, &error) == 0);
	test_assert(stepup_approval_keyring_add(keyring, "old", EX_KEY, 32,
						&error) == 0);
	test_assert(stepup_approval_keyring_add(old_only, "old", EX_KEY, 32,
						&error) == 0);
	i_zero(&c);
	c.body = "{\"decision\":\"approved\"," ECHO "}";
	sig_new = stepup_approval_sign_response(
		stepup_approval_keyring_find(keyring, "new"), EX_NONCE, ts,
		c.body, strlen(c.body));
	sig_old = stepup_approval_sign_response(
		stepup_approval_keyring_find(keyring, "old"), EX_NONCE, ts,
		c.body, strlen(c.body));
	/* the right digest under a wrong id */
	sig_x = t_strconcat("v1=other:", strchr(sig_old, ':') + 1, NULL);

	c.sig = sig_new;
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);
	test_assert_strcmp(resp.key_id, "new");
	c.sig = sig_old;
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);
	test_assert_strcmp(resp.key_id, "old");
	/* several values: one that verifies is enough */
	c.sig = t_strdup_printf("v2=ed25519:abc %s  %s", sig_x, sig_old);
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);
	test_assert_strcmp(resp.key_id, "old");
	c.sig = t_strdup_printf("%s %s", sig_new, sig_old);
	test_assert(parse_case(old_only, &c, &resp, &failure) == 0);
	test_assert_strcmp(resp.key_id, "old");
	/* only the new key's value, at a verifier knowing only the old one */
	c.sig = sig_new;
	test_assert(parse_case(old_only, &c, &resp, &failure) < 0);
	test_assert(failure == STEPUP_APPROVAL_FAIL_UNKNOWN_KEY);
	c.sig = sig_x;
	test_assert(parse_case(keyring, &c, &resp, &failure) < 0);
	test_assert(failure == STEPUP_APPROVAL_FAIL_UNKNOWN_KEY);
	/* an unknown key next to a known one that does not verify */
	c.sig = t_strdup_printf("%s v1=old:%s", sig_x, fill(64, '0'));
	test_assert(parse_case(keyring, &c, &resp, &failure) < 0);
	test_assert(failure == STEPUP_APPROVAL_FAIL_SIGNATURE);
	stepup_approval_keyring_free(&keyring);
	stepup_approval_keyring_free(&old_only);
	test_end();
}

static void test_response_failures(void)
{
	static const char *const ok_body = "{\"decision\":\"approved\"," ECHO "}";
	struct stepup_approval_keyring *keyring = example_keyring();
	struct stepup_approval_response resp;
	enum stepup_approval_failure failure;
	const char *sig, *replayed;
	struct resp_case c;
	string_t *big;
	const struct {
		struct resp_case c;
		enum stepup_approval_failure failure;
	} tests[] = {
		{ { .status = 302, .body = ok_body }, STEPUP_APPROVAL_FAIL_REDIRECT },
		{ { .status = 301 }, STEPUP_APPROVAL_FAIL_REDIRECT },
		{ { .status = 500, .body = ok_body }, STEPUP_APPROVAL_FAIL_STATUS },
		{ { .status = 404 }, STEPUP_APPROVAL_FAIL_STATUS },
		{ { .status = 201, .body = ok_body }, STEPUP_APPROVAL_FAIL_STATUS },
		{ { .status = 204 }, STEPUP_APPROVAL_FAIL_STATUS },
		/* signature */
		{ { .body = ok_body, .sig = "" }, STEPUP_APPROVAL_FAIL_SIGNATURE },
		{ { .body = ok_body, .sig = "v1=1:zz" }, STEPUP_APPROVAL_FAIL_SIGNATURE },
		{ { .body = ok_body, .sig = "v1=1" }, STEPUP_APPROVAL_FAIL_SIGNATURE },
		{ { .body = ok_body, .sig = "v2=1:00" }, STEPUP_APPROVAL_FAIL_SIGNATURE },
		{ { .body = ok_body, .ts = "" }, STEPUP_APPROVAL_FAIL_SIGNATURE },
		{ { .body = ok_body, .ts = "-5" }, STEPUP_APPROVAL_FAIL_SIGNATURE },
		{ { .body = ok_body, .ts = "17645904O1" }, STEPUP_APPROVAL_FAIL_SIGNATURE },
		{ { .body = ok_body, .ts = "99999999999999999999999" }, STEPUP_APPROVAL_FAIL_SIGNATURE },
		/* stale */
		{ { .body = ok_body, .ts = "1764590702" }, STEPUP_APPROVAL_FAIL_STALE },
		{ { .body = ok_body, .ts = "1764590100" }, STEPUP_APPROVAL_FAIL_STALE },
		{ { .body = ok_body, .ts = "0" }, STEPUP_APPROVAL_FAIL_STALE },
		/* JSON */
		{ { .body = "" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "[1]" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "\"approved\"" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":\"approved\"," ECHO }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":\"approved\"," ECHO "}x" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":\"approved\"," ECHO "}{}" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":approved," ECHO "}" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{" ECHO "}" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":null," ECHO "}" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":\"APPROVED\"," ECHO "}" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":\"yes\"," ECHO "}" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":true," ECHO "}" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":[\"approved\"]," ECHO "}" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":\"denied\",\"decision\":\"approved\"," ECHO "}" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":\"approved\"," ECHO ",\"ttl\":\"900\"}" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":\"approved\"," ECHO ",\"ttl\":-1}" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":\"approved\"," ECHO ",\"ttl\":1.5}" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":\"approved\"," ECHO ",\"poll_after\":1e3}" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":\"approved\"," ECHO ",\"message\":5}" }, STEPUP_APPROVAL_FAIL_JSON },
		{ { .body = "{\"decision\":\"approved\"," ECHO ",\"approver\":{}}" }, STEPUP_APPROVAL_FAIL_JSON },
		/* echo */
		{ { .body = "{\"decision\":\"approved\",\"nonce\":\"" EX_NONCE "\"}" }, STEPUP_APPROVAL_FAIL_ECHO },
		{ { .body = "{\"decision\":\"approved\",\"request_id\":\"" EX_REQUEST_ID "\"}" }, STEPUP_APPROVAL_FAIL_ECHO },
		{ { .body = "{\"decision\":\"approved\",\"request_id\":\"" EX_POLL_NONCE "\",\"nonce\":\"" EX_NONCE "\"}" }, STEPUP_APPROVAL_FAIL_ECHO },
		{ { .body = "{\"decision\":\"approved\",\"request_id\":\"" EX_REQUEST_ID "\",\"nonce\":\"" EX_POLL_NONCE "\"}" }, STEPUP_APPROVAL_FAIL_ECHO },
	};
	unsigned int i;

	test_begin("approval: responses that fail, and how");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		test_assert_idx(parse_case(keyring, &tests[i].c, &resp,
					   &failure) < 0, i);
		test_assert_idx(failure == tests[i].failure, i);
		test_assert_idx(resp.decision == STEPUP_APPROVAL_DECISION_PENDING &&
				resp.key_id == NULL, i);
	}

	/* tampered: one byte of the body, or of the timestamp */
	i_zero(&c);
	sig = stepup_approval_sign_response(
		stepup_approval_keyring_signer(keyring), EX_NONCE, dec2str(NOW),
		ok_body, strlen(ok_body));
	c.body = "{\"decision\":\"approved\"," ECHO " }";
	c.sig = sig;
	test_assert(parse_case(keyring, &c, &resp, &failure) < 0 &&
		    failure == STEPUP_APPROVAL_FAIL_SIGNATURE);
	c.body = ok_body;
	c.ts = dec2str(NOW + 1);
	test_assert(parse_case(keyring, &c, &resp, &failure) < 0 &&
		    failure == STEPUP_APPROVAL_FAIL_SIGNATURE);
	c.ts = NULL;
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);
	/* in upper case hex it is the same digest */
	c.sig = t_str_ucase(t_strdup(sig));
	c.sig = t_strconcat("v1=1:", strchr(c.sig, ':') + 1, NULL);
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);

	/* a replayed response: signed for another exchange's nonce */
	replayed = stepup_approval_sign_response(
		stepup_approval_keyring_signer(keyring), EX_POLL_NONCE,
		dec2str(NOW), ok_body, strlen(ok_body));
	c.sig = replayed;
	test_assert(parse_case(keyring, &c, &resp, &failure) < 0 &&
		    failure == STEPUP_APPROVAL_FAIL_SIGNATURE);

	/* too many values: only the first 16 are looked at */
	big = t_str_new(2048);
	for (i = 0; i < STEPUP_APPROVAL_SIG_MAX_VALUES; i++)
		str_printfa(big, "v1=1:%s ", fill(64, '0'));
	str_append(big, sig);
	c.sig = str_c(big);
	test_assert(parse_case(keyring, &c, &resp, &failure) < 0 &&
		    failure == STEPUP_APPROVAL_FAIL_SIGNATURE);
	c.sig = t_strconcat(fill(STEPUP_APPROVAL_SIG_HEADER_MAX, ' '),
			    sig, NULL);
	test_assert(parse_case(keyring, &c, &resp, &failure) < 0 &&
		    failure == STEPUP_APPROVAL_FAIL_SIGNATURE);

	/* 64 KiB is the limit: one byte more is too large */
	big = t_str_new(STEPUP_APPROVAL_BODY_MAX + 2);
	str_append(big, "{\"decision\":\"approved\"," ECHO ",\"pad\":\"");
	str_append(big, fill(STEPUP_APPROVAL_BODY_MAX - str_len(big) - 2,
				   'p'));
	str_append(big, "\"}");
	test_assert(str_len(big) == STEPUP_APPROVAL_BODY_MAX);
	i_zero(&c);
	c.body = str_c(big);
	test_assert(parse_case(keyring, &c, &resp, &failure) == 0);
	str_insert(big, 1, " ");
	c.body = str_c(big);
	test_assert(parse_case(keyring, &c, &resp, &failure) < 0 &&
		    failure == STEPUP_APPROVAL_FAIL_TOO_LARGE);
	stepup_approval_keyring_free(&keyring);
	test_end();
}

/* The fenced block after "<!-- example: NAME -->" in doc/approvals.md */
static const char *doc_example(const char *doc, const char *name)
{
	const char *p, *end;

	p = strstr(doc, t_strdup_printf("<!-- example: %s -->\n```", name));
	if (p == NULL)
		return NULL;
	/* past "<!-- example: NAME -->\n", to the end of the ``` line */
	p = strchr(p + strlen("<!-- example:  -->\n") + strlen(name), '\n');
	if (p == NULL || (end = strstr(p + 1, "\n```")) == NULL)
		return NULL;
	return t_strdup_until(p + 1, end);
}

static const char *read_doc(void)
{
	const char *path = STEPUP_SRCDIR "/doc/approvals.md";
	string_t *str = t_str_new(16384);
	char buf[4096];
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd == -1)
		i_fatal("open(%s): %m", path);
	while ((ret = read(fd, buf, sizeof(buf))) > 0)
		str_append_data(str, buf, ret);
	i_close_fd(&fd);
	return str_c(str);
}

/* "Name: value" of a header block */
static const char *doc_header(const char *block, const char *name)
{
	const char *const *lines = t_strsplit(block, "\n");
	const char *prefix = t_strconcat(name, ": ", NULL);

	for (; *lines != NULL; lines++) {
		if (strncmp(*lines, prefix, strlen(prefix)) == 0)
			return *lines + strlen(prefix);
	}
	return "";
}

static void test_doc_example(void)
{
	const char *doc = read_doc(), *key, *body, *hdrs, *rbody, *rhdrs;
	const char *poll, *error;
	struct stepup_approval_keyring *keyring;
	struct stepup_approval_http_request req;
	struct stepup_approval_http_response http;
	struct stepup_approval_response resp;
	enum stepup_approval_failure failure;
	struct stepup_approval_url url;
	pool_t pool = pool_datastack_create();
	string_t *ours = t_str_new(512);
	struct stepup_approval_request_info info = {
		.request_id = EX_REQUEST_ID, .user = "alice@example.org",
		.mailbox = "Confidentiel", .session = "QzQkXq8bYgR/AAAB",
		.remote_ip = "192.0.2.10", .protocol = "imap",
		.client = "Thunderbird", .rule = "hr", .auth = "password",
		.binding_code = "42", .created = 1764590400,
		.expires = 1764591300,
	};
	unsigned int i;

	test_begin("approval: the worked example of doc/approvals.md");
	key = doc_example(doc, "key");
	body = doc_example(doc, "request-body");
	hdrs = doc_example(doc, "request-headers");
	rbody = doc_example(doc, "response-body");
	rhdrs = doc_example(doc, "response-headers");
	poll = doc_example(doc, "poll-headers");
	test_assert(key != NULL && body != NULL && hdrs != NULL &&
		    rbody != NULL && rhdrs != NULL && poll != NULL);
	if (poll == NULL) {
		test_end();
		return;
	}
	keyring = stepup_approval_keyring_create();
	test_assert(stepup_approval_keyring_add(keyring, "1", key, strlen(key),
						&error) == 0);
	/* the body is what the C code builds */
	stepup_approval_request_body(ours, &info);
	test_assert_strcmp(body, str_c(ours));
	/* the request's header lines are ours, exactly */
	test_assert(stepup_approval_url_parse(pool,
		"https://approvals.example.org/v1/requests", &url, &error) == 0);
	stepup_approval_http_post(pool, &url,
		stepup_approval_keyring_signer(keyring), body,
		strtoll(doc_header(hdrs, "X-Stepup-Timestamp"), NULL, 10),
		doc_header(hdrs, "X-Stepup-Nonce"), &req);
	test_assert(str_begins_with(hdrs, "POST /v1/requests HTTP/1.1\n"));
	for (i = 0; req.headers[i] != NULL; i++)
		test_assert_idx(strstr(hdrs, req.headers[i]) != NULL, i);
	test_assert(i == 5);
	/* the poll's */
	stepup_approval_http_poll(pool, &url,
		stepup_approval_keyring_signer(keyring), EX_REQUEST_ID,
		strtoll(doc_header(poll, "X-Stepup-Timestamp"), NULL, 10),
		doc_header(poll, "X-Stepup-Nonce"), &req);
	test_assert(str_begins_with(poll, t_strdup_printf(
		"GET %s HTTP/1.1\n", req.path)));
	for (i = 0; req.headers[i] != NULL; i++)
		test_assert_idx(strstr(poll, req.headers[i]) != NULL, i);
	test_assert(i == 4);
	/* the response verifies as the answer to the request */
	i_zero(&http);
	http.status = 200;
	http.timestamp = doc_header(rhdrs, "X-Stepup-Timestamp");
	http.signature = doc_header(rhdrs, "X-Stepup-Signature");
	http.body = rbody;
	http.body_size = strlen(rbody);
	test_assert(stepup_approval_response_parse(pool, keyring,
		EX_REQUEST_ID, doc_header(hdrs, "X-Stepup-Nonce"),
		strtoll(http.timestamp, NULL, 10), &http, &resp, &failure,
		&error) == 0);
	test_assert(resp.decision == STEPUP_APPROVAL_DECISION_APPROVED);
	/* and the values this file's other tests use are the documented */
	test_assert_strcmp(key, EX_KEY);
	test_assert_strcmp(rbody, EX_RESPONSE_BODY);
	test_assert_strcmp(doc_header(hdrs, "X-Stepup-Signature"),
			   EX_REQUEST_SIG);
	stepup_approval_keyring_free(&keyring);
	test_end();
}

static void test_names(void)
{
	enum stepup_approval_failure kind;
	unsigned int i;

	test_begin("approval: failure and decision names");
	for (i = 0; i < STEPUP_APPROVAL_FAIL_COUNT; i++) {
		test_assert_idx(stepup_approval_failure_from_name(
			stepup_approval_failure_name(i), &kind) && kind == i, i);
	}
	test_assert_strcmp(stepup_approval_failure_name(
		STEPUP_APPROVAL_FAIL_UNKNOWN_KEY), "unknown_key");
	test_assert_strcmp(stepup_approval_failure_name(
		STEPUP_APPROVAL_FAIL_TOO_LARGE), "too_large");
	test_assert_strcmp(stepup_approval_failure_name(999), "internal");
	test_assert(!stepup_approval_failure_from_name("nope", &kind));
	test_assert_strcmp(stepup_approval_decision_name(
		STEPUP_APPROVAL_DECISION_EXPIRED), "expired");
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_hmac_rfc4231,
		test_key_files,
		test_settings_check,
		test_url_parse,
		test_json,
		test_request_body,
		test_request_signing,
		test_random,
		test_response_ok,
		test_response_rotation,
		test_response_failures,
		test_names,
		test_doc_example,
		NULL
	};
	char template[] = "/tmp/stepup-approval-XXXXXX";
	char cmd[sizeof(template) + 16];
	int ret;

	if (mkdtemp(template) == NULL)
		i_fatal("mkdtemp: %m");
	tmp_dir = template;
	ret = test_run(test_functions);
	i_snprintf(cmd, sizeof(cmd), "rm -rf %s", template);
	if (system(cmd) != 0)
		ret = 1;
	return ret;
}
