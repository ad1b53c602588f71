#ifndef STEPUP_EVENT_H
#define STEPUP_EVENT_H

/* Every event of the project is in the "stepup" category and logs with a
   "stepup: " prefix (doc/events.md). */
extern struct event_category event_category_stepup;

#define STEPUP_LOG_PREFIX "stepup: "

/* A child of parent (NULL: none) in the stepup category, logging with
   prefix (NULL: STEPUP_LOG_PREFIX). The prefix is added only where no
   ancestor is in the category already, so a stepup event's children do
   not repeat it. */
struct event *stepup_event_create(struct event *parent, const char *prefix);

/* For an object without a stepup event of its own (a mailbox): a
   passthrough event of parent in the stepup category with its prefix. */
struct event_passthrough *stepup_event_passthrough(struct event *parent);

/* TRUE if event or one of its ancestors is in the stepup category. */
bool stepup_event_is_ours(struct event *event);

#endif
