/* What the image handler files share: the handlers h_images.c's route table names from the
 * other files, and small helpers for names and events. Not for other modules. */
#pragma once

#include <jansson.h>

#include "api/api.h"
#include "common/err.h"
#include "image/imagedb.h"
#include "image/ref.h"
#include "image/store.h"

#include <stdbool.h>
#include <stdint.h>

/* The holds containers take on their images are named "ctr-<container id>". */
#define API_IMG_CONTAINER_HOLD "ctr-"

/* h_images_transfer.c: pull (and, through api_img_import, import), push, login. */
void api_img_create(struct api_req *r);
void api_img_push(struct api_req *r);
void api_img_auth(struct api_req *r);
/* h_images_archive.c: import (src is fromSrc), save, load. */
void api_img_import(struct api_req *r, const char *src);
void api_img_save_one(struct api_req *r);
void api_img_save_many(struct api_req *r);
void api_img_load(struct api_req *r);
/* h_images_remove.c */
void api_img_delete(struct api_req *r);
void api_img_prune(struct api_req *r);

/* A normalised name ("docker.io/library/busybox:latest", "h:5000/a@sha256:...") as Docker
 * shows it ("busybox:latest", "h:5000/a@sha256:..."); a copy of the input when it does not
 * parse. Caller frees. */
char *api_img_familiar(const char *normalised);
/* The image's labels (its config's config.Labels), a new reference, or NULL when it has none
 * or its config cannot be read. */
json_t *api_img_labels(struct img_store *s, const char *image_id);
/* Publishes an image event: attributes are the labels (borrowed, may be NULL) plus "name"
 * when name is non-NULL, as Docker sends them. */
void api_img_event(struct api_daemon *d, const char *action, const char *id, const char *name,
                   json_t *labels);
/* Progress-stream messages: {"status", "id"} (id may be NULL), and the error that ends a
 * stream: {"errorDetail": {"message"}, "error"}. New references. */
json_t *api_img_msg_status(const char *id, const char *status);
json_t *api_img_msg_error(const char *message);

/* h_images_filter.c. Docker's timestamps: RFC 3339 and its shortenings (no zone: local time),
 * and for filters also a duration before now ("10m") or unix seconds. 0, or -1 when s is none
 * of those. */
int api_img_parse_time(const char *s, int64_t *out);
int api_img_parse_timestamp(const char *s, int64_t *out);
/* The record's creation time (its config's); false when unknown. */
bool api_img_created(const struct img_record *r, int64_t *sec);
/* A true/false filter: *out 1 or 0, dflt when absent; -1 with Docker's message otherwise. */
int api_img_bool_filter(json_t *filters, const char *key, int dflt, int *out, struct berr **err);
/* Docker's MatchKVList: every "key" or "key=value" in wanted (NULL or empty: no filter) is among
 * labels (may be NULL). */
bool api_img_labels_match(json_t *wanted, json_t *labels);

/* For a parser's error (a reference, a platform): marks *err as the client's mistake (EINVAL,
 * answered 400) unless it already has a class. Returns -1. */
int api_img_invalid(struct berr **err);

/* Docker's repository-and-tag parameters (tag, import): repo is "name" or "name:tag", tag (may
 * be NULL or empty) replaces the tag, "latest" by default. A digest is refused. */
int api_img_repo_tag(const char *repo, const char *tag, struct img_ref **out, struct berr **err);
