/* Numbers and times for people, written exactly as the docker CLI writes them (go-units sizes
 * and durations, Go's time formats, jsonmessage's progress bar), and the parsers for sizes and
 * RFC 3339 timestamps that commands' flags need. Every returned string is new (free it). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"

/* units.HumanSizeWithPrecision: decimal units and that many significant digits. docker images
 * and history use 3 ("4.19MB", "1.2kB", "0B"); units.HumanSize is 4 ("1.024kB"). */
char *human_size(double bytes, int precision);
/* units.BytesSize: binary units, 4 significant digits ("1.5MiB", "1KiB"). */
char *human_bytes(double bytes);

/* units.HumanDuration: "Less than a second", "1 second", "45 seconds", "About a minute",
 * "35 minutes", "About an hour", "3 hours", "2 days", "3 weeks", "5 months", "2 years". */
char *human_duration(int64_t nanos);
/* docker's "CreatedSince" column: human_duration(now - t) + " ago" ("2 hours ago"). */
char *human_since(const struct timespec *t, const struct timespec *now);
/* Go's time.Duration.String() ("0s", "45s", "1m30s", "2h0m5s", "1.5s", "250ms"). */
char *human_go_duration(int64_t nanos);

/* units.FromHumanSize ("100MB", "1.5 kB": powers of 1000) with binary false, units.RAMInBytes
 * ("10m", "1g", "512KiB": powers of 1024) with binary true. Case does not matter; the b and
 * i are optional. */
int human_parse_size(const char *s, bool binary, int64_t *out, struct berr **err);

/* RFC 3339 with an optional fraction and a zone: "2024-01-02T03:04:05Z",
 * "2024-01-02T03:04:05.123456789+01:00". The result is UTC. */
int human_parse_time(const char *s, struct timespec *out, struct berr **err);
/* time.RFC3339Nano (nano: fraction with trailing zeros trimmed) or time.RFC3339 (seconds only),
 * in UTC or in the local zone, "Z" for a zero offset: "2024-01-02T03:04:05.5Z",
 * "2024-01-02T04:04:05+01:00". */
char *human_format_time(const struct timespec *t, bool nano, bool local);
/* Go's time.Time.String() in the local zone, as docker prints CreatedAt:
 * "2024-01-02 03:04:05 +0000 UTC", "2024-01-02 03:04:05.5 +0100 CET". */
char *human_time_string(const struct timespec *t);

/* A line of `docker pull` progress, as jsonmessage.JSONProgress renders it for a terminal of
 * term_width columns: "[=========>          ]  12.3MB/45.6MB 3s". The bar appears only on
 * terminals wider than 110 columns, the time left (from elapsed_ns, or -1 for unknown) on
 * those wider than 50. Empty when nothing is known yet. */
char *human_progress(int64_t current, int64_t total, int term_width, int64_t elapsed_ns);
