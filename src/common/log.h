/* The one logging API: leveled messages to a log file (text or JSON lines, as runc writes them
 * for containerd and podman to read back) and errors mirrored to stderr. */
#pragma once

#include <stdbool.h>

#include "common/err.h"

enum blog_level { BLOG_ERROR, BLOG_WARN, BLOG_INFO, BLOG_DEBUG };
enum blog_format { BLOG_TEXT, BLOG_JSON };

/* path may be NULL (stderr only). A log path of "/dev/stderr" or "-" writes to stderr. */
int blog_open(const char *path, enum blog_format fmt, enum blog_level level, struct berr **err);
void blog_set_level(enum blog_level level);
/* The program name that prefixes messages on stderr. */
void blog_set_name(const char *name);
/* Messages at or below level go to the log; errors always reach stderr as well. */
void blog(enum blog_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The fd of the log file, or -1 (for handing to a child that must log). */
int blog_fd(void);

#define log_error(...) blog(BLOG_ERROR, __VA_ARGS__)
#define log_warn(...) blog(BLOG_WARN, __VA_ARGS__)
#define log_info(...) blog(BLOG_INFO, __VA_ARGS__)
#define log_debug(...) blog(BLOG_DEBUG, __VA_ARGS__)
