/* Registry credentials in Docker's config.json format: {"auths": {"<key>": {"auth":
 * "base64(user:secret)"}}}. The file may hold anything else (credsStore, proxies, ...), which
 * is kept untouched when we write. Credential helpers (credsStore/credHelpers) are not run. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* The key Docker uses for Docker Hub, whichever of its names the user typed. */
#define REG_DOCKER_HUB_KEY "https://index.docker.io/v1/"

/* docker.io, index.docker.io and registry-1.docker.io (case-insensitive). */
bool reg_host_is_docker_hub(const char *host);
/* The key under which credentials for host are stored: REG_DOCKER_HUB_KEY for Docker Hub,
 * otherwise host itself ("127.0.0.1:5000"). Caller frees. */
char *reg_credentials_key(const char *host);

/* Look up host's credentials. Keys are matched exactly first, then by host name with any scheme
 * and path stripped ("https://host:5000/v1/" matches "host:5000"), as Docker does. Returns 0 and
 * sets *user and *secret (caller frees both) when found, 1 when the file or the entry is absent
 * (file may be NULL), -1 on a malformed file or entry. */
int reg_credentials_get(const char *file, const char *host, char **user, char **secret,
                        struct berr **err);
/* Store credentials for host, creating the file (mode 0600, directory 0700) if needed, and
 * replacing it atomically. user must be non-empty and hold no ':'. */
int reg_credentials_set(const char *file, const char *host, const char *user, const char *secret,
                        struct berr **err);
/* Remove host's entry (every key that matches it). 0 when removed, 1 when nothing was stored
 * (the file is then left as it was), -1 on error. */
int reg_credentials_remove(const char *file, const char *host, struct berr **err);

/* Standard padded base64. Encode never fails; caller frees. */
char *reg_base64_encode(const void *data, size_t len);
/* Decodes into a NUL-terminated buffer (the NUL is not counted in *len); NULL with an error on
 * bad input. Caller frees. */
char *reg_base64_decode(const char *s, size_t *len, struct berr **err);
