/* Fuzz target for image configs (registry and archive input): parsing, chain IDs of the diff
 * IDs, and re-serialisation of the parsed document. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "image/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    _cleanup_config_ struct img_config *c = NULL;
    struct berr *err = NULL;
    if (img_config_parse(data, size, &c, &err) < 0) {
        if (c != NULL || err == NULL)
            abort();
        berr_free(err);
        return 0;
    }
    _cleanup_strv_ char **chain = img_chain_ids(c->diff_ids, c->n_diff_ids);
    for (size_t i = 0; i < c->n_diff_ids; i++)
        if (chain[i] == NULL || strncmp(chain[i], "sha", 3) != 0)
            abort();
    size_t n;
    _cleanup_free_ char *s = img_config_serialize(c, &n);
    _cleanup_config_ struct img_config *again = NULL;
    if (img_config_parse(s, n, &again, NULL) < 0)
        abort();
    if (again->n_diff_ids != c->n_diff_ids || again->n_history != c->n_history ||
        again->history_mismatch != c->history_mismatch)
        abort();
    return 0;
}
