/* Helpers shared by the API handlers: time formats, architecture names, stream framing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "api/util.h"
#include "common/xalloc.h"

const char *api_go_arch(void)
{
    static char arch[80];
    if (arch[0] != '\0')
        return arch;
    struct utsname u;
    uname(&u);
    const char *a = u.machine;
    if (strcmp(a, "x86_64") == 0)
        a = "amd64";
    else if (strcmp(a, "aarch64") == 0)
        a = "arm64";
    else if (strncmp(a, "armv7", 5) == 0)
        a = "arm";
    else if (strcmp(a, "i686") == 0 || strcmp(a, "i386") == 0)
        a = "386";
    snprintf(arch, sizeof(arch), "%s", a);
    return arch;
}

int api_stream_write_json_line(struct api_stream *s, json_t *v)
{
    char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    if (txt == NULL)
        abort();
    size_t len = strlen(txt);
    txt = xrealloc(txt, len + 2);
    txt[len] = '\n';
    int rc = api_stream_write(s, txt, len + 1);
    free(txt);
    return rc;
}

void api_frame_header(unsigned char hdr[8], int stream, uint32_t len)
{
    hdr[0] = (unsigned char)stream;
    hdr[1] = hdr[2] = hdr[3] = 0;
    hdr[4] = (unsigned char)(len >> 24);
    hdr[5] = (unsigned char)(len >> 16);
    hdr[6] = (unsigned char)(len >> 8);
    hdr[7] = (unsigned char)len;
}

int api_check_filter_keys(json_t *filters, const char *const *accepted, struct berr **err)
{
    const char *k;
    json_t *v;
    json_object_foreach(filters, k, v)
    {
        size_t i = 0;
        while (accepted[i] && strcmp(accepted[i], k) != 0)
            i++;
        if (accepted[i] == NULL)
            return berr_code(err, EINVAL, "invalid filter '%s'", k);
    }
    return 0;
}
