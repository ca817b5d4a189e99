/* Fuzz target for the runtime's config.json parser: the bundle's config is written by whoever
 * calls the runtime, so it is untrusted input. rt_json_loadb() rewrites large integer literals
 * before jansson sees them; any text plain jansson accepts must come out the same. */
#include <stdint.h>
#include <stdlib.h>

#include "runtime/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_loader(const char *text, size_t size)
{
    json_error_t jerr;
    json_t *plain = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
    if (plain == NULL)
        return;
    json_t *folded = rt_json_loadb(text, size, &jerr);
    if (folded == NULL || !json_equal(plain, folded))
        abort();
    json_decref(plain);
    json_decref(folded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_loader((const char *)data, size);
    struct berr *err = NULL;
    struct rt_spec *s = rt_spec_parse((const char *)data, size, "config.json", &err);
    if (s == NULL) {
        if (err == NULL)
            abort();
        berr_free(err);
        return 0;
    }
    if (err != NULL)
        abort();
    rt_spec_free(s);
    return 0;
}
