/* Fuzz target for image references (user and API input). Beyond not crashing, every reference
 * that parses must print, in both its full and familiar forms, as text that parses back to the
 * same reference. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reparses(const char *text, const char *want)
{
    _cleanup_ref_ struct img_ref *again = NULL;
    if (img_ref_parse_repo(text, &again, NULL) < 0)
        abort();
    _cleanup_free_ char *s = img_ref_string(again);
    if (strcmp(s, want) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    _cleanup_free_ char *in = xstrndup((const char *)data, size);
    (void)img_ref_looks_like_id(in);

    struct berr *err = NULL;
    _cleanup_ref_ struct img_ref *r = NULL;
    if (img_ref_parse(in, &r, &err) < 0) {
        if (r != NULL || err == NULL || strstr(err->msg, "invalid") == NULL)
            abort();
        berr_free(err);
    } else {
        if (r->tag == NULL && r->digest == NULL)
            abort();
        _cleanup_free_ char *full = img_ref_string(r);
        _cleanup_free_ char *fam = img_ref_familiar(r);
        _cleanup_free_ char *repo = img_ref_repo(r);
        _cleanup_free_ char *fam_repo = img_ref_familiar_repo(r);
        check_reparses(full, full);
        check_reparses(fam, full);
        /* A repository named by 64 hex digits prints bare, as Docker prints it, and then reads
         * as an image ID rather than a name. */
        if (!img_ref_looks_like_id(fam_repo))
            check_reparses(fam_repo, repo);
        _cleanup_ref_ struct img_ref *copy = img_ref_dup(r);
        _cleanup_free_ char *copied = img_ref_string(copy);
        if (strcmp(copied, full) != 0)
            abort();
    }

    _cleanup_ref_ struct img_ref *bare = NULL;
    (void)img_ref_parse_repo(in, &bare, NULL);
    return 0;
}
