/* Fuzz target for WebSocket client frames (src/api/websocket.c), which berthd reads from any
 * client of attach/ws. The input is fed in cuts whose sizes come from its first byte, so that
 * headers and payloads split anywhere; every event must lie inside the input and respect the
 * frame cap, and an error must stay an error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/websocket.h"
#include "common/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 20)
        return 0;
    size_t cut = (size_t)data[0] % 17 + 1;
    unsigned char *buf = xmalloc(size);
    memcpy(buf, data + 1, size - 1);
    size_t len = size - 1, off = 0;
    struct ws_parser p;
    ws_parser_init(&p, 4096);
    bool failed = false;
    while (off < len) {
        size_t n = len - off < cut ? len - off : cut;
        size_t used = 0;
        while (used < n) {
            struct ws_event ev;
            size_t c = ws_parse(&p, buf + off + used, n - used, &ev);
            if (c > n - used)
                abort();
            if (ev.kind == WS_EV_DATA &&
                (ev.data < buf || ev.data + ev.len > buf + len || ev.len > 4096))
                abort();
            if (ev.kind == WS_EV_CONTROL && ev.len > WS_CONTROL_MAX)
                abort();
            if (failed && ev.kind != WS_EV_ERROR)
                abort();
            if (ev.kind == WS_EV_ERROR) {
                failed = true;
                break;
            }
            if (c == 0)
                break;
            used += c;
        }
        if (failed)
            break;
        off += n;
    }
    free(buf);
    return 0;
}
