/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "ioloop.h"
#include "llist.h"
#include "str.h"
#include "istream.h"
#include "ostream.h"
#include "master-service.h"
#include "stepup-compat.h"
#include "asvc-admin.h"
#include "stepup-approval-endpoint.h"

/* The admin socket (unix_listener stepup-approval, root only): "stepup
   approval approve/deny/list" from a terminal (approval-service/
   asvc-admin.h). */

struct admin_client {
	struct admin_client *prev, *next;
	int fd;
	struct io *io;
	struct istream *input;
	struct ostream *output;
};

static struct admin_client *admin_clients;
static struct asvc_store *admin_store;
static const struct asvc_rules *admin_rules;
static struct event *admin_event;

static void admin_client_destroy(struct admin_client **_client)
{
	struct admin_client *client = *_client;

	*_client = NULL;
	DLLIST_REMOVE(&admin_clients, client);
	io_remove(&client->io);
	i_stream_destroy(&client->input);
	o_stream_destroy(&client->output);
	i_close_fd(&client->fd);
	i_free(client);
	master_service_client_connection_destroyed(master_service);
}

static void admin_client_input(struct admin_client *client)
{
	const char *line;
	string_t *out;

	while ((line = i_stream_read_next_line(client->input)) != NULL) {
		T_BEGIN {
			out = t_str_new(256);
			asvc_admin_handle(admin_store, admin_rules, line,
					  ioloop_time, out);
			if (str_begins_with(str_c(out), "OK")) {
				e_info(admin_event, "from the admin socket: "
				       "%s", t_strcut(str_c(out), '\n'));
			}
			o_stream_nsend(client->output, str_data(out),
				       str_len(out));
		} T_END;
	}
	if (client->input->eof || client->input->stream_errno != 0 ||
	    i_stream_get_data_size(client->input) >= ASVC_ADMIN_MAX_LINE)
		admin_client_destroy(&client);
}

void stepup_approval_admin_init(struct asvc_store *store,
				const struct asvc_rules *rules,
				struct event *event)
{
	admin_store = store;
	admin_rules = rules;
	admin_event = event;
}

void stepup_approval_admin_deinit(void)
{
	while (admin_clients != NULL) {
		struct admin_client *client = admin_clients;
		admin_client_destroy(&client);
	}
}

void stepup_approval_admin_connected(struct master_service_connection *conn)
{
	struct admin_client *client;

	master_service_client_connection_accept(conn);
	client = i_new(struct admin_client, 1);
	client->fd = conn->fd;
	client->input = i_stream_create_fd(conn->fd, ASVC_ADMIN_MAX_LINE);
	client->output = o_stream_create_fd(conn->fd, SIZE_MAX);
	o_stream_set_no_error_handling(client->output, TRUE);
	client->io = io_add(conn->fd, IO_READ, admin_client_input, client);
	DLLIST_PREPEND(&admin_clients, client);
}
