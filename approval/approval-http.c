/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "buffer.h"
#include "str.h"
#include "llist.h"
#include "ioloop.h"
#include "stepup-config.h"
#include "approval-http.h"

#include <curl/curl.h>

/* response headers beyond this (all of them together) fail the exchange */
#define APPROVAL_HTTP_MAX_HEADERS (16 * 1024)

struct approval_http_client {
	struct approval_http_settings set;
	pool_t pool;
	CURLM *multi;
	struct timeout *to;
	struct approval_http_exchange *exchanges;
	unsigned int running;
	/* exchanges whose callback is due (from the ioloop) */
	struct timeout *to_finish;
};

struct approval_http_exchange {
	struct approval_http_exchange *prev, *next;
	struct approval_http_client *client;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	buffer_t *response;
	size_t header_bytes;
	char *timestamp, *signature, *retry_after;
	char errbuf[CURL_ERROR_SIZE];
	bool too_large:1;
	bool done:1;
	enum stepup_approval_failure failure;
	char *error;
	approval_http_callback_t *callback;
	void *context;
};

/* one socket curl wants watched */
struct approval_http_socket {
	struct approval_http_client *client;
	curl_socket_t fd;
	struct io *io_in, *io_out;
};

static int curl_global_refcount = 0;

static void http_check_done(struct approval_http_client *client);

static void http_socket_action(struct approval_http_client *client,
			       curl_socket_t fd, int ev)
{
	int running;

	(void)curl_multi_socket_action(client->multi, fd, ev, &running);
	http_check_done(client);
}

static void http_socket_in(struct approval_http_socket *sock)
{
	http_socket_action(sock->client, sock->fd, CURL_CSELECT_IN);
}

static void http_socket_out(struct approval_http_socket *sock)
{
	http_socket_action(sock->client, sock->fd, CURL_CSELECT_OUT);
}

static int
http_socket_cb(CURL *easy ATTR_UNUSED, curl_socket_t fd, int what,
	       void *userp, void *socketp)
{
	struct approval_http_client *client = userp;
	struct approval_http_socket *sock = socketp;

	if (what == CURL_POLL_REMOVE) {
		if (sock != NULL) {
			io_remove(&sock->io_in);
			io_remove(&sock->io_out);
			i_free(sock);
		}
		return 0;
	}
	if (sock == NULL) {
		sock = i_new(struct approval_http_socket, 1);
		sock->client = client;
		sock->fd = fd;
		(void)curl_multi_assign(client->multi, fd, sock);
	}
	if ((what == CURL_POLL_IN || what == CURL_POLL_INOUT) &&
	    sock->io_in == NULL)
		sock->io_in = io_add(fd, IO_READ, http_socket_in, sock);
	else if (what == CURL_POLL_OUT)
		io_remove(&sock->io_in);
	if ((what == CURL_POLL_OUT || what == CURL_POLL_INOUT) &&
	    sock->io_out == NULL)
		sock->io_out = io_add(fd, IO_WRITE, http_socket_out, sock);
	else if (what == CURL_POLL_IN)
		io_remove(&sock->io_out);
	return 0;
}

static void http_timeout(struct approval_http_client *client)
{
	timeout_remove(&client->to);
	http_socket_action(client, CURL_SOCKET_TIMEOUT, 0);
}

static int
http_timer_cb(CURLM *multi ATTR_UNUSED, long timeout_ms, void *userp)
{
	struct approval_http_client *client = userp;

	timeout_remove(&client->to);
	if (timeout_ms >= 0) {
		client->to = timeout_add_short((unsigned int)timeout_ms,
					       http_timeout, client);
	}
	return 0;
}

static size_t
http_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct approval_http_exchange *ex = userp;
	size_t len = size * nmemb;

	if (ex->response->used + len > STEPUP_APPROVAL_BODY_MAX) {
		/* aborts the transfer (CURLE_WRITE_ERROR) */
		ex->too_large = TRUE;
		return 0;
	}
	buffer_append(ex->response, data, len);
	return len;
}

/* the value of header "name: value" (case-insensitive name), trimmed */
static char *header_value(const char *line, size_t len, const char *name)
{
	size_t name_len = strlen(name), end;

	if (len <= name_len || strncasecmp(line, name, name_len) != 0 ||
	    line[name_len] != ':')
		return NULL;
	line += name_len + 1;
	len -= name_len + 1;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++; len--;
	}
	for (end = len; end > 0; end--) {
		char c = line[end - 1];
		if (c != '\r' && c != '\n' && c != ' ' && c != '\t')
			break;
	}
	return i_strndup(line, end);
}

static void set_header(char **dest, char *value)
{
	if (value == NULL)
		return;
	i_free(*dest);
	*dest = value;
}

static size_t
http_header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct approval_http_exchange *ex = userp;
	size_t len = size * nmemb;

	ex->header_bytes += len;
	if (ex->header_bytes > APPROVAL_HTTP_MAX_HEADERS) {
		ex->too_large = TRUE;
		return 0;
	}
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* a new response (after a 100 Continue): forget the last */
		i_free_and_null(ex->timestamp);
		i_free_and_null(ex->signature);
		i_free_and_null(ex->retry_after);
		return len;
	}
	set_header(&ex->timestamp, header_value(data, len, "X-Stepup-Timestamp"));
	set_header(&ex->signature, header_value(data, len, "X-Stepup-Signature"));
	set_header(&ex->retry_after, header_value(data, len, "Retry-After"));
	return len;
}

static enum stepup_approval_failure
http_failure_kind(CURLcode code, bool too_large)
{
	if (too_large)
		return STEPUP_APPROVAL_FAIL_TOO_LARGE;
	switch (code) {
	case CURLE_OK:
		return STEPUP_APPROVAL_FAIL_NONE;
	case CURLE_OPERATION_TIMEDOUT:
		return STEPUP_APPROVAL_FAIL_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return STEPUP_APPROVAL_FAIL_DNS;
	case CURLE_COULDNT_CONNECT:
		return STEPUP_APPROVAL_FAIL_CONNECT;
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return STEPUP_APPROVAL_FAIL_PIN;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		return STEPUP_APPROVAL_FAIL_TLS;
	case CURLE_FILESIZE_EXCEEDED:
		return STEPUP_APPROVAL_FAIL_TOO_LARGE;
	default:
		return STEPUP_APPROVAL_FAIL_INTERNAL;
	}
}

static void
http_classify(struct approval_http_exchange *ex, CURLcode code)
{
	ex->failure = http_failure_kind(code, ex->too_large);
	if (ex->failure == STEPUP_APPROVAL_FAIL_NONE)
		return;
	if (ex->failure == STEPUP_APPROVAL_FAIL_TOO_LARGE) {
		ex->error = i_strdup_printf("response larger than %u bytes",
					    STEPUP_APPROVAL_BODY_MAX);
	} else {
		ex->error = i_strdup(ex->errbuf[0] != '\0' ? ex->errbuf :
				     curl_easy_strerror(code));
	}
}

static void http_exchange_free(struct approval_http_exchange *ex)
{
	struct approval_http_client *client = ex->client;

	DLLIST_REMOVE(&client->exchanges, ex);
	i_assert(client->running > 0);
	client->running--;
	(void)curl_multi_remove_handle(client->multi, ex->easy);
	curl_easy_cleanup(ex->easy);
	curl_slist_free_all(ex->headers);
	buffer_free(&ex->response);
	i_free(ex->timestamp);
	i_free(ex->signature);
	i_free(ex->retry_after);
	i_free(ex->body);
	i_free(ex->error);
	i_free(ex);
}

static void http_finish(struct approval_http_exchange *ex)
{
	struct stepup_approval_http_response resp;
	long status = 0;

	i_zero(&resp);
	if (ex->failure == STEPUP_APPROVAL_FAIL_NONE) {
		(void)curl_easy_getinfo(ex->easy, CURLINFO_RESPONSE_CODE,
					&status);
		resp.status = (unsigned int)status;
		resp.timestamp = ex->timestamp;
		resp.signature = ex->signature;
		resp.retry_after = ex->retry_after;
		resp.body = ex->response->data;
		resp.body_size = ex->response->used;
	}
	T_BEGIN {
		ex->callback(ex->failure, ex->error,
			     ex->failure == STEPUP_APPROVAL_FAIL_NONE ?
			     &resp : NULL, ex->context);
	} T_END;
	http_exchange_free(ex);
}

/* Callbacks run from a timeout, never from inside a curl call or
   approval_http_start(). */
static void http_finish_due(struct approval_http_client *client)
{
	struct approval_http_exchange *ex, *next;

	timeout_remove(&client->to_finish);
	for (ex = client->exchanges; ex != NULL; ex = next) {
		next = ex->next;
		if (ex->done)
			http_finish(ex);
	}
}

static void http_schedule_finish(struct approval_http_client *client)
{
	if (client->to_finish == NULL) {
		client->to_finish = timeout_add_short(0, http_finish_due,
						      client);
	}
}

static void http_check_done(struct approval_http_client *client)
{
	struct approval_http_exchange *ex;
	CURLMsg *msg;
	int left;
	char *priv;

	while ((msg = curl_multi_info_read(client->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
					&priv);
		ex = (struct approval_http_exchange *)priv;
		if (ex == NULL || ex->done)
			continue;
		ex->done = TRUE;
		http_classify(ex, msg->data.result);
		http_schedule_finish(client);
	}
}

static void
http_setup(struct approval_http_exchange *ex,
	   const struct stepup_approval_url *url,
	   const struct stepup_approval_http_request *req)
{
	const struct approval_http_settings *set = &ex->client->set;
	CURL *easy = ex->easy;
	unsigned int i;

	/* url->tls is FALSE only for http:// to 127.0.0.1 and [::1] */
	(void)curl_easy_setopt(easy, CURLOPT_URL, req->url);
	(void)curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR,
			       url->tls ? "https" : "http");
	(void)curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	(void)curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	(void)curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	/* no proxy from the environment of whoever started Dovecot */
	(void)curl_easy_setopt(easy, CURLOPT_PROXY, "");
	(void)curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
	(void)curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
			       (long)set->connect_timeout_msecs);
	(void)curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
			       (long)set->timeout_msecs);
	(void)curl_easy_setopt(easy, CURLOPT_MAXFILESIZE,
			       (long)STEPUP_APPROVAL_BODY_MAX);
	(void)curl_easy_setopt(easy, CURLOPT_USERAGENT,
			       "dovecot-stepup/" STEPUP_VERSION);
	(void)curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, ex->errbuf);
	(void)curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)ex);
	(void)curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, http_write_cb);
	(void)curl_easy_setopt(easy, CURLOPT_WRITEDATA, ex);
	(void)curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, http_header_cb);
	(void)curl_easy_setopt(easy, CURLOPT_HEADERDATA, ex);
	if (set->ca_file != NULL)
		(void)curl_easy_setopt(easy, CURLOPT_CAINFO, set->ca_file);
	if (set->pin != NULL)
		(void)curl_easy_setopt(easy, CURLOPT_PINNEDPUBLICKEY, set->pin);
	if (set->client_cert != NULL) {
		(void)curl_easy_setopt(easy, CURLOPT_SSLCERT, set->client_cert);
		(void)curl_easy_setopt(easy, CURLOPT_SSLKEY, set->client_key);
	}

	/* no "Expect: 100-continue" round trip for larger bodies */
	ex->headers = curl_slist_append(ex->headers, "Expect:");
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
		ex->headers = curl_slist_append(ex->headers, req->headers[i]);
	(void)curl_easy_setopt(easy, CURLOPT_HTTPHEADER, ex->headers);

	if (strcmp(req->method, "POST") == 0) {
		ex->body = i_malloc(req->body_size + 1);
		memcpy(ex->body, req->body, req->body_size);
		(void)curl_easy_setopt(easy, CURLOPT_POST, 1L);
		(void)curl_easy_setopt(easy, CURLOPT_POSTFIELDS, ex->body);
		(void)curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE,
				       (long)req->body_size);
	} else {
		i_assert(strcmp(req->method, "GET") == 0);
		(void)curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	}
}

struct approval_http_exchange *
approval_http_start(struct approval_http_client *client,
		    const struct stepup_approval_url *url,
		    const struct stepup_approval_http_request *req,
		    approval_http_callback_t *callback, void *context)
{
	struct approval_http_exchange *ex;

	ex = i_new(struct approval_http_exchange, 1);
	ex->client = client;
	ex->callback = callback;
	ex->context = context;
	ex->response = buffer_create_dynamic(default_pool, 1024);
	ex->easy = curl_easy_init();
	DLLIST_PREPEND(&client->exchanges, ex);
	client->running++;

	if (ex->easy == NULL) {
		ex->failure = STEPUP_APPROVAL_FAIL_INTERNAL;
		ex->error = i_strdup("curl_easy_init() failed");
		ex->done = TRUE;
	} else {
		http_setup(ex, url, req);
		if (curl_multi_add_handle(client->multi, ex->easy) != CURLM_OK) {
			ex->failure = STEPUP_APPROVAL_FAIL_INTERNAL;
			ex->error = i_strdup("curl_multi_add_handle() failed");
			ex->done = TRUE;
		}
	}
	if (ex->done)
		http_schedule_finish(client);
	return ex;
}

void approval_http_abort(struct approval_http_exchange **_ex)
{
	struct approval_http_exchange *ex = *_ex;

	if (ex == NULL)
		return;
	*_ex = NULL;
	http_exchange_free(ex);
}

unsigned int approval_http_running(const struct approval_http_client *client)
{
	return client->running;
}

struct approval_http_client *
approval_http_client_init(const struct approval_http_settings *set)
{
	struct approval_http_client *client;
	pool_t pool;

	if (curl_global_refcount++ == 0)
		(void)curl_global_init(CURL_GLOBAL_DEFAULT);
	pool = pool_alloconly_create("approval http", 512);
	client = p_new(pool, struct approval_http_client, 1);
	client->pool = pool;
	client->set.ca_file = p_strdup(pool, set->ca_file);
	client->set.pin = p_strdup(pool, set->pin);
	client->set.client_cert = p_strdup(pool, set->client_cert);
	client->set.client_key = p_strdup(pool, set->client_key);
	client->set.connect_timeout_msecs = set->connect_timeout_msecs;
	client->set.timeout_msecs = set->timeout_msecs;
	client->multi = curl_multi_init();
	if (client->multi == NULL)
		i_fatal("approval http: curl_multi_init() failed");
	(void)curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION,
				http_socket_cb);
	(void)curl_multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client);
	(void)curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION,
				http_timer_cb);
	(void)curl_multi_setopt(client->multi, CURLMOPT_TIMERDATA, client);
	return client;
}

void approval_http_client_deinit(struct approval_http_client **_client)
{
	struct approval_http_client *client = *_client;

	if (client == NULL)
		return;
	*_client = NULL;
	while (client->exchanges != NULL) {
		struct approval_http_exchange *ex = client->exchanges;
		approval_http_abort(&ex);
	}
	timeout_remove(&client->to);
	timeout_remove(&client->to_finish);
	(void)curl_multi_cleanup(client->multi);
	pool_unref(&client->pool);
	if (--curl_global_refcount == 0)
		curl_global_cleanup();
}
