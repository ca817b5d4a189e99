/* The pure parts of registry authentication (Docker token auth spec, RFC 7235): WWW-Authenticate
 * challenges, token responses, scopes, the token cache and registry error bodies. Nothing here
 * touches the network, so all of it can be unit-tested. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"


struct reg_auth_param {
    char *name; /* lowercased: parameter names are case-insensitive */
    char *value;
};

struct reg_challenge {
    char *scheme;  /* lowercased ("basic", "bearer") */
    char *token68; /* the rare token68 form ("Negotiate abc=="); NULL when params are used */
    struct reg_auth_param *params;
    size_t n_params;
};

struct reg_challenges {
    struct reg_challenge *v;
    size_t n;
};

/* Parse one WWW-Authenticate header value (which may hold several comma-separated challenges)
 * and append its challenges to *out (zero-initialise it first; call once per header when a
 * response has several). On a malformed header, returns -1 and leaves *out as it was. */
int reg_parse_www_authenticate(const char *header, struct reg_challenges *out, struct berr **err);
void reg_challenges_clear(struct reg_challenges *l);
/* The first challenge of a scheme (case-insensitive), or NULL. */
const struct reg_challenge *reg_challenges_find(const struct reg_challenges *l, const char *scheme);
/* A parameter's value (name case-insensitive), or NULL. */
const char *reg_challenge_param(const struct reg_challenge *ch, const char *name);

/* What a Bearer challenge tells us: where to get a token. Fails when realm is missing or is not
 * an http(s) URL. Pointers borrow from ch; service and scope may be NULL. */
struct reg_bearer {
    const char *realm;
    const char *service;
    const char *scope;
};
int reg_bearer_from_challenge(const struct reg_challenge *ch, struct reg_bearer *out,
                              struct berr **err);

struct reg_token {
    char *token;        /* owned */
    int64_t expires_at; /* unix seconds after which the token must not be sent */
};
/* Parse a token endpoint's JSON answer: "token" or "access_token" (the former wins), and
 * "expires_in" seconds (60 when absent or smaller, as the spec says). A safety margin is taken
 * off so a token is never used right at its expiry. A token that is empty or could break a
 * header line is refused. */
int reg_parse_token_response(const char *body, size_t len, time_t now, struct reg_token *out,
                             struct berr **err);
void reg_token_clear(struct reg_token *t);

/* Repository names as the distribution spec allows them ("library/alpine", lowercase
 * components joined by '/', separators '.', '_', '__', '-'), at most 255 characters. */
bool reg_repo_name_valid(const char *repo);
/* "repository:<repo>:<actions>", actions e.g. "pull" or "pull,push". */
char *reg_scope_repo(const char *repo, const char *actions);
/* The token request URL: realm plus service and one scope parameter per scope, all
 * percent-encoded; realm may carry its own query. scopes may be NULL. Caller frees. */
char *reg_token_url(const char *realm, const char *service, char *const *scopes);
/* Percent-encode everything but RFC 3986 unreserved characters. Caller frees. */
char *reg_url_escape(const char *s);

/* A readable message from a registry or token-server error body: the distribution spec's
 * {"errors":[{"code","message","detail"}]} becomes "manifest unknown: <message>" joined by "; ";
 * the token servers' {"details": "..."} / {"error": "..."} forms are read too. Control characters
 * are dropped and the text is capped. NULL when the body says nothing usable. Caller frees. */
char *reg_error_body_message(const char *body, size_t len);

/* Tokens by scope key, each until its expiry. Thread-safe. */
struct reg_token_cache;
struct reg_token_cache *reg_token_cache_new(void);
void reg_token_cache_free(struct reg_token_cache *tc);
/* A copy of the token stored for key and still valid at now, or NULL. Caller frees. */
char *reg_token_cache_get(struct reg_token_cache *tc, const char *key, time_t now);
void reg_token_cache_put(struct reg_token_cache *tc, const char *key, const char *token,
                         int64_t expires_at);
void reg_token_cache_remove(struct reg_token_cache *tc, const char *key);
void reg_token_cache_clear(struct reg_token_cache *tc);
