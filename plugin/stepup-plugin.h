#ifndef STEPUP_PLUGIN_H
#define STEPUP_PLUGIN_H

extern const char *stepup_plugin_version;

void stepup_plugin_init(struct module *module);
void stepup_plugin_deinit(void);

#endif
