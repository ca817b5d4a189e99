/* The predefined networks (h_networks.c), for the container handlers. */
#pragma once

#include <jansson.h>

#include "api/api.h"

/* NetworkSettings.Networks of a container with this HostConfig.NetworkMode (new object). */
json_t *api_net_endpoints(struct api_daemon *d, const char *mode);
/* Sets NetworkSettings.Networks of a container in Docker's inspect or list shape. */
void api_net_decorate(struct api_daemon *d, json_t *ctr);
/* The name of the network ref names (name, ID or unique ID prefix), or NULL. */
const char *api_net_name(struct api_daemon *d, const char *ref);
