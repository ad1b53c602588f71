/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-event.h"

struct event_category event_category_stepup = {
	.name = "stepup",
};

bool stepup_event_is_ours(struct event *event)
{
	struct event_category *const *cats;
	unsigned int i, count;

	for (; event != NULL; event = event_get_parent(event)) {
		cats = event_get_categories(event, &count);
		for (i = 0; i < count; i++) {
			if (cats[i] == &event_category_stepup)
				return TRUE;
		}
	}
	return FALSE;
}

struct event_passthrough *stepup_event_passthrough(struct event *parent)
{
	struct event_passthrough *e = event_create_passthrough(parent)->
		add_category(&event_category_stepup);

	return stepup_event_is_ours(parent) ? e :
		e->append_log_prefix(STEPUP_LOG_PREFIX);
}

struct event *stepup_event_create(struct event *parent, const char *prefix)
{
	bool ours = stepup_event_is_ours(parent);
	struct event *event = event_create(parent);

	event_add_category(event, &event_category_stepup);
	if (!ours) {
		event_set_append_log_prefix(event, prefix != NULL ? prefix :
					    STEPUP_LOG_PREFIX);
	}
	return event;
}
