/* Health checks (engine-internal): one checker thread per running container whose
 * Config.Healthcheck names a probe. The checker runs the probe as an exec in the container,
 * keeps State.Health in the record ({Status, FailingStreak, Log}) and publishes
 * "health_status: ..." events. The lifecycle code arms and disarms it; nothing here takes
 * c->op, so every call below may be made while holding it (never while holding e->mu). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"

struct eng;
struct ctr;
struct eng_health; /* a running checker, owned through c->health */

/* After a start, or a live restore of a running container: State.Health becomes "starting"
 * with no failing streak (its Log is kept) and the checker is armed. Does nothing for a
 * container without a probe or one that is not running (a paused one keeps its state). */
void eng_health_init(struct eng *e, struct ctr *c);
/* Arms or disarms the checker to match the container: armed while running (not paused).
 * Disarming marks the status "unhealthy", as Docker does when its monitor stops. */
void eng_health_update(struct eng *e, struct ctr *c);
/* Disarms: cancels a probe in flight (killing its process), waits for the thread. */
void eng_health_stop(struct eng *e, struct ctr *c);
/* At engine close (after e->closing is set): stops every checker, leaving the recorded
 * state alone so a live restore can pick it up. */
void eng_health_shutdown(struct eng *e);

/* For `docker ps`, under e->mu: "starting", "healthy", "unhealthy", or "none" when the
 * container has no State.Health. */
const char *eng_health_status(struct ctr *c);
/* The Status column's suffix for a running container: " (healthy)", " (health: starting)",
 * " (unhealthy)" or "". Under e->mu; static strings. */
const char *eng_health_suffix(struct ctr *c);
/* Validates the values of a `health` list filter (an array of strings, may be NULL). */
int eng_health_check_filter(json_t *values, struct berr **err);
