/* `events`: usage statistics, once (--stats) or every interval, plus OOM notices, until the
 * container stops. */
#include "common/cleanup.h"
#include "runtime/cli/cli.h"
#include "runtime/container.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Go duration subset: "5s", "500ms", "1m", "2" (seconds). */
static long long parse_interval_ms(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        return -1;
    if (*end == 0 || strcmp(end, "s") == 0)
        return (long long)(v * 1000);
    if (strcmp(end, "ms") == 0)
        return (long long)v;
    if (strcmp(end, "m") == 0)
        return (long long)(v * 60000);
    if (strcmp(end, "h") == 0)
        return (long long)(v * 3600000);
    return -1;
}

int cmd_events(struct cli_globals *g, int argc, char **argv)
{
    bool stats = false, help = false;
    const char *interval = "5s";
    const struct cli_flag flags[] = {
        {"stats", 0, FLAG_BOOL, &stats},
        {"interval", 0, FLAG_STRING, &interval},
        {"help", 'h', FLAG_BOOL, &help},
        {NULL, 0, 0, NULL},
    };
    int nrest;
    char **rest;
    struct berr *err = NULL;
    if (cli_parse(argc, argv, flags, &nrest, &rest, &err) < 0)
        return cli_fail(err);
    if (help) {
        printf("usage: berth-runc events [--stats] [--interval DURATION] ID\n");
        return 0;
    }
    if (nrest != 1)
        return cli_usage_error("events", "expected exactly one container id");
    long long ms = parse_interval_ms(interval);
    if (ms <= 0)
        return cli_usage_error("events", "--interval: \"%s\" is not a duration like 5s", interval);
    const char *id = rest[0];
    if (stats) {
        _cleanup_json_ json_t *ev = rt_container_stats(g->root, id, &err);
        if (ev == NULL)
            return cli_fail(err);
        cli_print_json(ev, false);
        return 0;
    }
    bool oom_reported = false;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        const char *status;
        bool oom;
        if (rt_container_status(g->root, id, &status, &oom, &err) < 0)
            return cli_fail(err);
        if (oom && !oom_reported) {
            printf("{\"type\":\"oom\",\"id\":\"%s\"}\n", id);
            oom_reported = true;
        }
        if (strcmp(status, "stopped") == 0)
            return 0;
        _cleanup_json_ json_t *ev = rt_container_stats(g->root, id, &err);
        if (ev == NULL)
            return cli_fail(err);
        cli_print_json(ev, false);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
}
