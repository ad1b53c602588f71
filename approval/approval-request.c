/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "hex-binary.h"
#include "randgen.h"
#include "net.h"
#include "stepup-compat.h"
#include "approval-sign.h"
#include "approval-request.h"

#define HEX_ID_LEN 32

static bool host_char_ok(char c)
{
	return stepup_approval_is_alnum(c) || c == '.' || c == '-';
}

static int url_parse_host(const char *authority, bool *loopback_r,
			  const char **host_r, const char **error_r)
{
	const char *host, *port = NULL, *end;
	struct ip_addr ip;
	uintmax_t portnum;

	*loopback_r = FALSE;
	if (authority[0] == '[') {
		end = strchr(authority, ']');
		if (end == NULL) {
			*error_r = "unterminated IPv6 address";
			return -1;
		}
		host = t_strdup_until(authority + 1, end);
		if (net_addr2ip(host, &ip) < 0 || ip.family != AF_INET6) {
			*error_r = "invalid IPv6 address";
			return -1;
		}
		*loopback_r = net_ip_compare(&ip, &net_ip6_loopback);
		host = t_strdup_printf("[%s]", t_str_lcase(host));
		end++;
		if (*end == ':')
			port = end + 1;
		else if (*end != '\0') {
			*error_r = "junk after the IPv6 address";
			return -1;
		}
	} else {
		end = strchr(authority, ':');
		if (end != NULL) {
			host = t_strdup_until(authority, end);
			port = end + 1;
		} else {
			host = authority;
		}
		if (*host == '\0') {
			*error_r = "no host";
			return -1;
		}
		for (end = host; *end != '\0'; end++) {
			if (!host_char_ok(*end)) {
				*error_r = "invalid character in the host";
				return -1;
			}
		}
		host = t_str_lcase(host);
		*loopback_r = strcmp(host, "127.0.0.1") == 0;
	}
	if (port != NULL) {
		if (str_to_uintmax(port, &portnum) < 0 || portnum == 0 ||
		    portnum > 65535 || port[0] == '+') {
			*error_r = "invalid port";
			return -1;
		}
		host = t_strdup_printf("%s:%s", host, port);
	}
	*host_r = host;
	return 0;
}

int stepup_approval_url_parse(pool_t pool, const char *url,
			      struct stepup_approval_url *url_r,
			      const char **error_r)
{
	const char *p, *authority, *path, *host, *query, *error;
	bool tls, loopback;

	i_zero(url_r);
	for (p = url; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			*error_r = "URL: only printable ASCII without spaces";
			return -1;
		}
	}
	if (strncasecmp(url, "https://", 8) == 0) {
		tls = TRUE;
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		tls = FALSE;
		p = url + 7;
	} else {
		*error_r = "URL must be https:// (plain http:// only to "
			"127.0.0.1 or [::1])";
		return -1;
	}
	if (strchr(p, '#') != NULL) {
		*error_r = "URL must not have a #fragment";
		return -1;
	}
	path = p + strcspn(p, "/?");
	authority = t_strdup_until(p, path);
	if (strchr(authority, '@') != NULL) {
		*error_r = "URL must not name a user or password";
		return -1;
	}
	if (url_parse_host(authority, &loopback, &host, &error) < 0) {
		*error_r = t_strdup_printf("URL: %s", error);
		return -1;
	}
	if (!tls && !loopback) {
		*error_r = "URL must be https:// (plain http:// only to "
			"127.0.0.1 or [::1])";
		return -1;
	}
	if (*path == '\0')
		path = "/";
	else if (*path == '?')
		path = t_strconcat("/", path, NULL);
	query = strchr(path, '?');
	if (query == NULL)
		query = "";

	url_r->tls = tls;
	url_r->host = p_strdup(pool, host);
	url_r->path = p_strdup(pool, path);
	url_r->path_only = p_strdup_until(pool, path, path + strlen(path) -
					  strlen(query));
	url_r->query = p_strdup(pool, query);
	url_r->url = p_strconcat(pool, tls ? "https://" : "http://",
				 host, path, NULL);
	return 0;
}

static void json_add_str(string_t *dest, const char *key, const char *value)
{
	str_printfa(dest, ",\"%s\":\"", key);
	json_append_escaped(dest, value == NULL ? "" : value);
	str_append_c(dest, '"');
}

void stepup_approval_request_body(string_t *dest,
				  const struct stepup_approval_request_info *info)
{
	str_append(dest, "{\"version\":1");
	json_add_str(dest, "request_id", info->request_id);
	json_add_str(dest, "user", info->user);
	json_add_str(dest, "mailbox", info->mailbox);
	json_add_str(dest, "session", info->session);
	json_add_str(dest, "remote_ip", info->remote_ip);
	json_add_str(dest, "protocol", info->protocol);
	json_add_str(dest, "client", info->client);
	json_add_str(dest, "rule", info->rule);
	json_add_str(dest, "auth", info->auth);
	json_add_str(dest, "binding_code", info->binding_code);
	str_printfa(dest, ",\"created\":%lld,\"expires\":%lld}",
		    (long long)info->created, (long long)info->expires);
}

const char *stepup_approval_random_hex(void)
{
	unsigned char buf[HEX_ID_LEN / 2];

	random_fill(buf, sizeof(buf));
	return binary_to_hex(buf, sizeof(buf));
}

const char *stepup_approval_binding_code(void)
{
	unsigned char c;

	/* 200 is a multiple of 100: no bias */
	do {
		random_fill(&c, 1);
	} while (c >= 200);
	return t_strdup_printf("%02u", c % 100);
}

bool stepup_approval_is_hex_id(const char *s)
{
	unsigned int i;

	for (i = 0; i < HEX_ID_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return FALSE;
	}
	return s[i] == '\0';
}

static void
http_request_sign(pool_t pool, const struct stepup_approval_key *key,
		  time_t now, const char *nonce,
		  struct stepup_approval_http_request *req)
{
	ARRAY_TYPE(const_string) headers;
	const char *line;

	if (nonce == NULL)
		nonce = stepup_approval_random_hex();
	req->nonce = p_strdup(pool, nonce);
	req->timestamp = p_strdup_printf(pool, "%lld", (long long)now);
	req->signature = p_strdup(pool,
		stepup_approval_sign_request(key, req->method, req->host,
					     req->path, req->timestamp,
					     req->nonce, req->body,
					     req->body_size));

	p_array_init(&headers, pool, 6);
	line = p_strconcat(pool, "Host: ", req->host, NULL);
	array_push_back(&headers, &line);
	if (strcmp(req->method, "POST") == 0) {
		line = "Content-Type: application/json";
		array_push_back(&headers, &line);
	}
	line = p_strconcat(pool, "X-Stepup-Timestamp: ", req->timestamp, NULL);
	array_push_back(&headers, &line);
	line = p_strconcat(pool, "X-Stepup-Nonce: ", req->nonce, NULL);
	array_push_back(&headers, &line);
	line = p_strconcat(pool, "X-Stepup-Signature: ", req->signature, NULL);
	array_push_back(&headers, &line);
	array_append_zero(&headers);
	req->headers = array_front(&headers);
}

void stepup_approval_http_post(pool_t pool,
			       const struct stepup_approval_url *url,
			       const struct stepup_approval_key *key,
			       const char *body, time_t now,
			       const char *nonce,
			       struct stepup_approval_http_request *req_r)
{
	i_zero(req_r);
	req_r->method = "POST";
	req_r->url = p_strdup(pool, url->url);
	req_r->host = p_strdup(pool, url->host);
	req_r->path = p_strdup(pool, url->path);
	req_r->body = p_strdup(pool, body);
	req_r->body_size = strlen(body);
	http_request_sign(pool, key, now, nonce, req_r);
}

void stepup_approval_http_poll(pool_t pool,
			       const struct stepup_approval_url *url,
			       const struct stepup_approval_key *key,
			       const char *request_id, time_t now,
			       const char *nonce,
			       struct stepup_approval_http_request *req_r)
{
	size_t len = strlen(url->path_only);

	i_assert(stepup_approval_is_hex_id(request_id));
	if (len > 0 && url->path_only[len - 1] == '/')
		len--;
	i_zero(req_r);
	req_r->method = "GET";
	req_r->host = p_strdup(pool, url->host);
	req_r->path = p_strdup_printf(pool, "%.*s/%s%s", (int)len,
				      url->path_only, request_id, url->query);
	req_r->url = p_strconcat(pool, url->tls ? "https://" : "http://",
				 url->host, req_r->path, NULL);
	req_r->body = "";
	req_r->body_size = 0;
	http_request_sign(pool, key, now, nonce, req_r);
}
