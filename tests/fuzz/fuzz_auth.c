/* Fuzz target for what a registry says about auth: WWW-Authenticate headers and token
 * responses. Every challenge parsed must have a scheme, and a Bearer one that converts must
 * have a realm. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "registry/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    _cleanup_free_ char *in = xstrndup((const char *)data, size);
    struct reg_challenges l = {0};
    if (reg_parse_www_authenticate(in, &l, NULL) == 0) {
        for (size_t i = 0; i < l.n; i++) {
            if (l.v[i].scheme == NULL || l.v[i].scheme[0] == '\0')
                abort();
            struct reg_bearer b;
            if (reg_bearer_from_challenge(&l.v[i], &b, NULL) == 0 && b.realm == NULL)
                abort();
        }
    }
    reg_challenges_clear(&l);
    struct reg_token t = {0};
    if (reg_parse_token_response((const char *)data, size, time(NULL), &t, NULL) == 0 &&
        t.token == NULL)
        abort();
    reg_token_clear(&t);
    return 0;
}
