/* Small helpers the API handlers share: Docker's time formats, Go's architecture names, and
 * the multiplexed stream framing of attach, logs and exec, filter keys. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "common/timeutil.h"

/* "amd64", "arm64"... for this machine. */
const char *api_go_arch(void);
/* One JSON value and "\n" (events, as Docker writes them). Steals v. */
int api_stream_write_json_line(struct api_stream *s, json_t *v);
/* -1 with Docker's "invalid filter 'KEY'" (EINVAL) for a key of filters not in accepted
 * (NULL-terminated). */
int api_check_filter_keys(json_t *filters, const char *const *accepted, struct berr **err);
/* Docker's 8-byte frame header for stream (0 stdin, 1 stdout, 2 stderr) and len. */
void api_frame_header(unsigned char hdr[8], int stream, uint32_t len);
