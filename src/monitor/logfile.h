/* Docker's json-file log: one JSON object per line, {"log":...,"stream":...,"time":...}, split at
 * newlines (16 KiB at most per entry), rotated by size the way Docker rotates it, so that
 * `docker logs` tooling and berthd read it back unchanged. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"

/* The values match the attach protocol's frame types. */
enum mon_stream { MON_STDOUT = 1, MON_STDERR = 2 };

/* Longest entry: a longer line is cut into entries of this size (Docker's 16 KiB). */
#define MON_LOG_LINE_MAX         16384
#define MON_LOG_DEFAULT_MAX_SIZE 10485760
#define MON_LOG_DEFAULT_MAX_FILE 3

struct mon_log;

/* Open path for appending, creating it (mode 0640) when missing; *created (may be NULL) says
 * whether it was made now. max_size 0 means no limit (never rotate); max_file must be >= 1 (1:
 * the file is truncated instead of rotated). Freed with mon_log_free. */
struct mon_log *mon_log_open(const char *path, uint64_t max_size, unsigned max_file, bool *created,
                             struct berr **err);
void mon_log_free(struct mon_log *log);

/* Take bytes read from a stream at time now: each complete line (through its \n) is written as
 * an entry; a remainder is kept for the next call, or written as a partial entry (no trailing
 * \n) once it reaches MON_LOG_LINE_MAX. On a write failure the entries are lost (the log is best
 * effort, the container must not stall on it) and -1 is returned. */
int mon_log_feed(struct mon_log *log, enum mon_stream s, const void *buf, size_t len,
                 const struct timespec *now, struct berr **err);
/* The stream has no more data for now: write a kept remainder as a partial entry. */
int mon_log_flush(struct mon_log *log, enum mon_stream s, const struct timespec *now,
                  struct berr **err);

/* Bytes needed to escape n bytes, quotes included. */
#define MON_JSON_ESCAPED_MAX(n) (6 * (n) + 2)
/* Write src as a JSON string literal (with its quotes) to dst, which holds at least
 * MON_JSON_ESCAPED_MAX(len) bytes, as Go's encoder and Docker's json-file do: \" \\ \n \r kept
 * short, other control characters and < > & as \u00XX, U+2028 and U+2029 escaped, each byte that
 * is not part of valid UTF-8 as \ufffd. Returns the length written (no NUL added). */
size_t mon_json_escape(char *dst, const void *src, size_t len);

/* "2026-11-23T10:11:12.123456789Z": UTC, always nine fractional digits. */
#define MON_TIME_LEN 31
void mon_format_time(char out[MON_TIME_LEN], const struct timespec *ts);
