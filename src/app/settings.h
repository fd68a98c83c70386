/* settings.h — the config tables of `cemrl train`: every setting declared once (core/cfg.h). */
#ifndef CEMRL_APP_SETTINGS_H
#define CEMRL_APP_SETTINGS_H

#include "agents/settings.h"
#include "core/cfg.h"

/* The table describing AgentSettings (the top level of a config file). */
extern const CoreCfgField app_agent_fields[];

/* Defaults of every setting, as a config file with no keys would give. */
void app_settings_defaults(AgentSettings *s);

#endif
