/* RFC 6455 for berthd's WebSocket attach: the opening handshake's checks and accept key
 * (SHA-1 and base64 from nettle), server frame headers, and the incremental parser of client
 * frames. Every length and opcode a client sends is checked before it is trusted: a frame is
 * refused by its header alone, so a hostile length never makes the caller wait or allocate. */
#include <string.h>
#include <strings.h>

#include <nettle/base64.h>
#include <nettle/sha1.h>

#include "api/websocket.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ---- handshake ---- */

/* Whether a comma-separated header value holds token (case-insensitive, blanks trimmed). */
static bool has_token(const char *list, const char *token)
{
    size_t tlen = strlen(token);
    const char *p = list;
    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == tlen && strncasecmp(p, token, n) == 0)
            return true;
        p = end;
    }
    return false;
}

static bool is_base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* 16 bytes in base64: 22 characters and "==". */
static bool key_valid(const char *key)
{
    if (strlen(key) != 24 || key[22] != '=' || key[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++)
        if (!is_base64_char(key[i]))
            return false;
    return true;
}

void ws_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1])
{
    struct sha1_ctx ctx;
    uint8_t digest[SHA1_DIGEST_SIZE];
    sha1_init(&ctx);
    sha1_update(&ctx, strlen(key), (const uint8_t *)key);
    sha1_update(&ctx, strlen(WS_GUID), (const uint8_t *)WS_GUID);
    sha1_digest(&ctx, sizeof(digest), digest);
    base64_encode_raw(out, sizeof(digest), digest);
    out[WS_ACCEPT_LEN] = '\0';
}

static int refuse(struct ws_handshake *h, int status, const char *error)
{
    h->status = status;
    h->error = error;
    return -1;
}

int ws_handshake_check(struct ws_handshake *h, const char *method, const char *upgrade,
                       const char *connection, const char *key, const char *version)
{
    memset(h, 0, sizeof(*h));
    /* the checks and messages in the order of golang.org/x/net/websocket, Docker's server */
    if (method == NULL || strcmp(method, "GET") != 0)
        return refuse(h, 405, "bad method");
    if (upgrade == NULL || connection == NULL || !has_token(upgrade, "websocket") ||
        !has_token(connection, "upgrade"))
        return refuse(h, 400, "not websocket protocol");
    if (key == NULL || !key_valid(key))
        return refuse(h, 400, "mismatch challenge/response");
    if (version == NULL || strcmp(version, "13") != 0) {
        h->bad_version = true;
        return refuse(h, 400, "missing or bad WebSocket Version");
    }
    ws_accept_key(key, h->accept);
    h->status = 101;
    return 0;
}

bool ws_pick_protocol(const char *offer, char *out, size_t size)
{
    if (offer == NULL)
        return false;
    while (*offer == ' ' || *offer == '\t')
        offer++;
    size_t n = strcspn(offer, ",");
    while (n > 0 && (offer[n - 1] == ' ' || offer[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= size)
        return false;
    memcpy(out, offer, n);
    out[n] = '\0';
    return true;
}

/* ---- server frames ---- */

size_t ws_frame_header(unsigned char hdr[WS_HEADER_MAX], enum ws_opcode op, uint64_t len)
{
    hdr[0] = (unsigned char)(0x80 | op);
    if (len < 126) {
        hdr[1] = (unsigned char)len;
        return 2;
    }
    if (len <= 0xffff) {
        hdr[1] = 126;
        hdr[2] = (unsigned char)(len >> 8);
        hdr[3] = (unsigned char)len;
        return 4;
    }
    hdr[1] = 127;
    for (int i = 0; i < 8; i++)
        hdr[2 + i] = (unsigned char)(len >> (56 - 8 * i));
    return 10;
}

size_t ws_close_frame(unsigned char out[2 + WS_CONTROL_MAX], uint16_t code, const char *reason)
{
    if (code == WS_CLOSE_NO_STATUS) {
        out[0] = 0x80 | WS_OP_CLOSE;
        out[1] = 0;
        return 2;
    }
    size_t rlen = reason != NULL ? strlen(reason) : 0;
    if (rlen > WS_CONTROL_MAX - 2)
        rlen = WS_CONTROL_MAX - 2;
    size_t h = ws_frame_header(out, WS_OP_CLOSE, 2 + rlen);
    out[h] = (unsigned char)(code >> 8);
    out[h + 1] = (unsigned char)code;
    if (rlen > 0)
        memcpy(out + h + 2, reason, rlen);
    return h + 2 + rlen;
}

bool ws_close_code_valid(unsigned code)
{
    /* 1004 is reserved; 1005, 1006 and 1015 only describe a close locally; 1016-2999 are
     * unassigned; 3000-4999 belong to libraries and applications */
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* ---- client frames ---- */

void ws_parser_init(struct ws_parser *p, uint64_t max_frame)
{
    memset(p, 0, sizeof(*p));
    p->max_frame = max_frame;
}

static size_t fail(struct ws_parser *p, struct ws_event *ev, uint16_t code, size_t consumed)
{
    p->failed = true;
    p->fail_code = code;
    ev->kind = WS_EV_ERROR;
    ev->code = code;
    return consumed;
}

static bool is_control(enum ws_opcode op)
{
    return (op & 0x8) != 0;
}

/* The first two header bytes: what can be refused before the rest arrives. Returns the code
 * to close with, or 0. */
static uint16_t check_start(struct ws_parser *p)
{
    unsigned char b0 = p->hdr[0], b1 = p->hdr[1];
    enum ws_opcode op = (enum ws_opcode)(b0 & 0x0f);
    /* no extension was negotiated, so no reserved bit may be set */
    if ((b0 & 0x70) != 0)
        return WS_CLOSE_PROTOCOL;
    switch (op) {
    case WS_OP_CONT:
    case WS_OP_TEXT:
    case WS_OP_BINARY:
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        break;
    default:
        return WS_CLOSE_PROTOCOL;
    }
    unsigned len7 = b1 & 0x7f;
    if (is_control(op) && (!(b0 & 0x80) || len7 > WS_CONTROL_MAX))
        return WS_CLOSE_PROTOCOL;
    if (op == WS_OP_CONT && !p->in_message)
        return WS_CLOSE_PROTOCOL;
    if ((op == WS_OP_TEXT || op == WS_OP_BINARY) && p->in_message)
        return WS_CLOSE_PROTOCOL;
    /* a client's frames are always masked (RFC 6455 5.1): a proxy's cache cannot be poisoned */
    if (!(b1 & 0x80))
        return WS_CLOSE_PROTOCOL;
    p->opcode = op;
    p->fin = (b0 & 0x80) != 0;
    p->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
    return 0;
}

static void frame_done(struct ws_parser *p)
{
    p->in_payload = false;
    p->hdr_len = 0;
    p->hdr_need = 0;
    if (!is_control(p->opcode) && p->fin)
        p->in_message = false;
}

/* A whole control frame is in: the event for it, or an error for a malformed close. */
static size_t control_event(struct ws_parser *p, struct ws_event *ev, size_t consumed)
{
    ev->kind = WS_EV_CONTROL;
    ev->opcode = p->opcode;
    ev->data = p->ctl;
    ev->len = p->ctl_len;
    if (p->opcode == WS_OP_CLOSE) {
        if (p->ctl_len == 1)
            return fail(p, ev, WS_CLOSE_PROTOCOL, consumed);
        ev->code = WS_CLOSE_NO_STATUS;
        if (p->ctl_len >= 2) {
            unsigned code = (unsigned)p->ctl[0] << 8 | p->ctl[1];
            if (!ws_close_code_valid(code))
                return fail(p, ev, WS_CLOSE_PROTOCOL, consumed);
            ev->code = (uint16_t)code;
        }
    }
    frame_done(p);
    return consumed;
}

/* The header is complete: its length is checked, and a frame with no payload is an event at
 * once. Returns true when ev was filled. */
static bool header_done(struct ws_parser *p, struct ws_event *ev)
{
    unsigned len7 = p->hdr[1] & 0x7f;
    uint64_t len = len7;
    size_t at = 2;
    if (len7 == 126) {
        len = (uint64_t)p->hdr[2] << 8 | p->hdr[3];
        at = 4;
    } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p->hdr[2 + i];
        at = 10;
        /* the most significant bit must be 0 (RFC 6455 5.2) */
        if (len >> 63) {
            fail(p, ev, WS_CLOSE_PROTOCOL, 0);
            return true;
        }
    }
    if (len > p->max_frame) {
        fail(p, ev, WS_CLOSE_TOO_BIG, 0);
        return true;
    }
    memcpy(p->mask, p->hdr + at, 4);
    p->left = len;
    p->seen = 0;
    p->ctl_len = 0;
    p->in_payload = true;
    if (p->opcode == WS_OP_TEXT || p->opcode == WS_OP_BINARY) {
        p->in_message = true;
        p->msg_opcode = p->opcode;
    }
    if (len > 0)
        return false;
    if (is_control(p->opcode)) {
        control_event(p, ev, 0);
        return true;
    }
    ev->kind = WS_EV_DATA;
    ev->opcode = p->msg_opcode;
    ev->data = p->ctl;
    ev->len = 0;
    ev->last = p->fin;
    frame_done(p);
    return true;
}

size_t ws_parse(struct ws_parser *p, unsigned char *buf, size_t len, struct ws_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->kind = WS_EV_NONE;
    if (p->failed)
        return fail(p, ev, p->fail_code, 0);
    size_t off = 0;
    while (off < len) {
        if (!p->in_payload) {
            size_t need = p->hdr_need != 0 ? p->hdr_need : 2;
            size_t take = need - p->hdr_len;
            if (take > len - off)
                take = len - off;
            memcpy(p->hdr + p->hdr_len, buf + off, take);
            p->hdr_len += take;
            off += take;
            if (p->hdr_len < need)
                continue;
            if (p->hdr_need == 0) {
                uint16_t code = check_start(p);
                if (code != 0)
                    return fail(p, ev, code, off);
                continue;
            }
            if (header_done(p, ev))
                return off;
            continue;
        }
        size_t take = p->left < len - off ? (size_t)p->left : len - off;
        unsigned char *d = buf + off;
        for (size_t i = 0; i < take; i++)
            d[i] ^= p->mask[(p->seen + i) & 3];
        p->seen += take;
        p->left -= take;
        off += take;
        if (is_control(p->opcode)) {
            memcpy(p->ctl + p->ctl_len, d, take);
            p->ctl_len += take;
            if (p->left == 0)
                return control_event(p, ev, off);
            continue;
        }
        ev->kind = WS_EV_DATA;
        ev->opcode = p->msg_opcode;
        ev->data = d;
        ev->len = take;
        ev->last = p->left == 0 && p->fin;
        if (p->left == 0)
            frame_done(p);
        return off;
    }
    return off;
}
