/* Unit tests for api/websocket: the accept key (RFC 6455's own example), the opening
 * handshake's refusals with golang.org/x/net's messages, server frame headers at every length
 * boundary, and the client frame parser: masking, fragments with control frames between them,
 * input cut at every byte, every protocol error with its close code, and the frame size cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "api/websocket.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

/* A client frame: header (masked with mask unless mask is NULL) and payload, into out; returns
 * its length. b0 is the whole first byte (FIN, RSV, opcode). */
static size_t client_frame(unsigned char *out, unsigned b0, const void *payload, uint64_t len,
                           const unsigned char *mask)
{
    size_t h = 0;
    out[h++] = (unsigned char)b0;
    unsigned char mbit = mask != NULL ? 0x80 : 0;
    if (len < 126) {
        out[h++] = (unsigned char)(mbit | len);
    } else if (len <= 0xffff) {
        out[h++] = mbit | 126;
        out[h++] = (unsigned char)(len >> 8);
        out[h++] = (unsigned char)len;
    } else {
        out[h++] = mbit | 127;
        for (int i = 0; i < 8; i++)
            out[h++] = (unsigned char)(len >> (56 - 8 * i));
    }
    if (mask != NULL) {
        memcpy(out + h, mask, 4);
        h += 4;
    }
    const unsigned char *p = payload;
    for (uint64_t i = 0; payload != NULL && i < len; i++)
        out[h + i] = mask != NULL ? p[i] ^ mask[i % 4] : p[i];
    return h + (payload != NULL ? (size_t)len : 0);
}

static const unsigned char MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Everything a parse of buf yields: data concatenated, control frames' opcodes in order, and
 * the error code (0 if none). Feeds step bytes at a time (0: all at once). */
struct result {
    unsigned char data[70000];
    size_t data_len;
    int ctl[16];
    unsigned char ctl_payload[16][WS_CONTROL_MAX];
    size_t ctl_len[16];
    uint16_t close_code[16];
    size_t nctl;
    uint16_t error;
    int data_events, last_events;
    enum ws_opcode data_op;
};

static void parse_all(struct ws_parser *p, unsigned char *buf, size_t len, size_t step,
                      struct result *r)
{
    memset(r, 0, sizeof(*r));
    for (size_t at = 0; at < len && r->error == 0;) {
        size_t n = step == 0 || len - at < step ? len - at : step;
        size_t off = 0;
        while (off < n) {
            struct ws_event ev;
            size_t used = ws_parse(p, buf + at + off, n - off, &ev);
            off += used;
            if (ev.kind == WS_EV_ERROR) {
                r->error = ev.code;
                break;
            }
            if (ev.kind == WS_EV_NONE) {
                assert_int_equal(off, n);
                continue;
            }
            if (ev.kind == WS_EV_DATA) {
                memcpy(r->data + r->data_len, ev.data, ev.len);
                r->data_len += ev.len;
                r->data_events++;
                r->last_events += ev.last;
                r->data_op = ev.opcode;
            } else {
                assert_true(r->nctl < 16);
                r->ctl[r->nctl] = ev.opcode;
                memcpy(r->ctl_payload[r->nctl], ev.data, ev.len);
                r->ctl_len[r->nctl] = ev.len;
                r->close_code[r->nctl] = ev.code;
                r->nctl++;
            }
        }
        at += n;
    }
}

static void test_accept_key(void **state)
{
    char out[WS_ACCEPT_LEN + 1];
    /* RFC 6455 1.3 */
    ws_accept_key(KEY, out);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_handshake(void **state)
{
    struct ws_handshake h;
    assert_int_equal(ws_handshake_check(&h, "GET", "websocket", "Upgrade", KEY, "13"), 0);
    assert_int_equal(h.status, 101);
    assert_string_equal(h.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /* tokens in any case, in lists */
    assert_int_equal(ws_handshake_check(&h, "GET", "WebSocket", "keep-alive, Upgrade", KEY, "13"),
                     0);
    assert_int_equal(ws_handshake_check(&h, "GET", "h2c,  websocket ", "upgrade", KEY, "13"), 0);

    assert_int_equal(ws_handshake_check(&h, "HEAD", "websocket", "Upgrade", KEY, "13"), -1);
    assert_int_equal(h.status, 405);
    assert_string_equal(h.error, "bad method");

    const char *not_ws[][2] = {
        {NULL, "Upgrade"},      {"websocket", NULL},       {"tcp", "Upgrade"},
        {"websocket", "close"}, {"websockets", "Upgrade"}, {"websocket", "upgraded"},
    };
    for (size_t i = 0; i < sizeof(not_ws) / sizeof(not_ws[0]); i++) {
        assert_int_equal(ws_handshake_check(&h, "GET", not_ws[i][0], not_ws[i][1], KEY, "13"), -1);
        assert_int_equal(h.status, 400);
        assert_string_equal(h.error, "not websocket protocol");
    }

    const char *bad_keys[] = {NULL,
                              "",
                              "c2hvcnQ=",
                              "dGhlIHNhbXBsZSBub25jZQ=",
                              "dGhlIHNhbXBsZSBub25jZQ===",
                              "dGhlIHNhbXBsZSBub25j*Q=="};
    for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
        assert_int_equal(ws_handshake_check(&h, "GET", "websocket", "Upgrade", bad_keys[i], "13"),
                         -1);
        assert_int_equal(h.status, 400);
        assert_string_equal(h.error, "mismatch challenge/response");
        assert_false(h.bad_version);
    }

    const char *bad_versions[] = {NULL, "", "8", "13 ", "130"};
    for (size_t i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++) {
        assert_int_equal(
            ws_handshake_check(&h, "GET", "websocket", "Upgrade", KEY, bad_versions[i]), -1);
        assert_int_equal(h.status, 400);
        assert_true(h.bad_version);
        assert_string_equal(h.error, "missing or bad WebSocket Version");
    }
}

static void test_pick_protocol(void **state)
{
    char out[16];
    assert_true(ws_pick_protocol("chat, superchat", out, sizeof(out)));
    assert_string_equal(out, "chat");
    assert_true(ws_pick_protocol("  one  ", out, sizeof(out)));
    assert_string_equal(out, "one");
    assert_false(ws_pick_protocol(NULL, out, sizeof(out)));
    assert_false(ws_pick_protocol("", out, sizeof(out)));
    assert_false(ws_pick_protocol(" , x", out, sizeof(out)));
    assert_false(ws_pick_protocol("a-name-that-is-far-too-long", out, sizeof(out)));
}

static void test_frame_header(void **state)
{
    unsigned char h[WS_HEADER_MAX];
    assert_int_equal(ws_frame_header(h, WS_OP_BINARY, 0), 2);
    assert_memory_equal(h, "\x82\x00", 2);
    assert_int_equal(ws_frame_header(h, WS_OP_TEXT, 125), 2);
    assert_memory_equal(h, "\x81\x7d", 2);
    assert_int_equal(ws_frame_header(h, WS_OP_BINARY, 126), 4);
    assert_memory_equal(h, "\x82\x7e\x00\x7e", 4);
    assert_int_equal(ws_frame_header(h, WS_OP_BINARY, 65535), 4);
    assert_memory_equal(h, "\x82\x7e\xff\xff", 4);
    assert_int_equal(ws_frame_header(h, WS_OP_BINARY, 65536), 10);
    assert_memory_equal(h, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    assert_int_equal(ws_frame_header(h, WS_OP_PONG, 3), 2);
    assert_memory_equal(h, "\x8a\x03", 2);
}

static void test_close_frame(void **state)
{
    unsigned char f[2 + WS_CONTROL_MAX];
    assert_int_equal(ws_close_frame(f, WS_CLOSE_NORMAL, NULL), 4);
    assert_memory_equal(f, "\x88\x02\x03\xe8", 4);
    assert_int_equal(ws_close_frame(f, WS_CLOSE_TOO_BIG, "big"), 7);
    assert_memory_equal(f,
                        "\x88\x05\x03\xf1"
                        "big",
                        7);
    assert_int_equal(ws_close_frame(f, WS_CLOSE_NO_STATUS, "ignored"), 2);
    assert_memory_equal(f, "\x88\x00", 2);
    char reason[300];
    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    /* a control frame's payload is at most 125 bytes: the reason is cut to fit */
    assert_int_equal(ws_close_frame(f, WS_CLOSE_PROTOCOL, reason), 2 + WS_CONTROL_MAX);
    assert_int_equal(f[1], WS_CONTROL_MAX);

    unsigned valid[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1014, 3000, 4999};
    unsigned invalid[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        assert_true(ws_close_code_valid(valid[i]));
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        assert_false(ws_close_code_valid(invalid[i]));
}

static void test_parse_masked_text(void **state)
{
    /* RFC 6455 5.7: a masked "Hello" */
    unsigned char buf[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct ws_parser p;
    ws_parser_init(&p, 1 << 20);
    struct ws_event ev;
    assert_int_equal(ws_parse(&p, buf, sizeof(buf), &ev), sizeof(buf));
    assert_int_equal(ev.kind, WS_EV_DATA);
    assert_int_equal(ev.opcode, WS_OP_TEXT);
    assert_true(ev.last);
    assert_int_equal(ev.len, 5);
    assert_memory_equal(ev.data, "Hello", 5);
    /* unmasked in place, where the payload was */
    assert_ptr_equal(ev.data, buf + 6);
}

/* A message in three fragments, a ping and a pong between them, then a binary frame with a
 * 16-bit and one with a 64-bit length: the same result whatever the input's cuts. */
static void test_parse_fragments_any_cut(void **state)
{
    static unsigned char big[66000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)(i * 7 + 3);
    static unsigned char stream[70000 + 64];
    size_t n = 0;
    n += client_frame(stream + n, 0x01, "Hel", 3, MASK);
    n += client_frame(stream + n, 0x89, "ping!", 5, MASK);
    n += client_frame(stream + n, 0x00, "lo, ", 4, MASK);
    n += client_frame(stream + n, 0x8a, NULL, 0, MASK);
    n += client_frame(stream + n, 0x80, "world", 5, MASK);
    n += client_frame(stream + n, 0x82, big, 300, MASK);
    n += client_frame(stream + n, 0x82, big, sizeof(big), MASK);
    static struct result r;
    size_t steps[] = {0, 1, 2, 3, 5, 7, 13, 4096};
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        static unsigned char copy[sizeof(stream)];
        memcpy(copy, stream, n);
        struct ws_parser p;
        ws_parser_init(&p, 1 << 20);
        parse_all(&p, copy, n, steps[s], &r);
        assert_int_equal(r.error, 0);
        assert_int_equal(r.data_len, 12 + 300 + sizeof(big));
        assert_memory_equal(r.data, "Hello, world", 12);
        assert_memory_equal(r.data + 12, big, 300);
        assert_memory_equal(r.data + 312, big, sizeof(big));
        assert_int_equal(r.last_events, 3);
        assert_int_equal(r.data_op, WS_OP_BINARY);
        assert_int_equal(r.nctl, 2);
        assert_int_equal(r.ctl[0], WS_OP_PING);
        assert_int_equal(r.ctl_len[0], 5);
        assert_memory_equal(r.ctl_payload[0], "ping!", 5);
        assert_int_equal(r.ctl[1], WS_OP_PONG);
        assert_int_equal(r.ctl_len[1], 0);
    }
}

static void test_parse_empty_frames(void **state)
{
    unsigned char buf[64];
    size_t n = client_frame(buf, 0x81, NULL, 0, MASK);
    n += client_frame(buf + n, 0x02, NULL, 0, MASK);
    n += client_frame(buf + n, 0x80, "x", 1, MASK);
    struct ws_parser p;
    ws_parser_init(&p, 16);
    static struct result r;
    parse_all(&p, buf, n, 0, &r);
    assert_int_equal(r.error, 0);
    assert_int_equal(r.data_events, 3);
    assert_int_equal(r.last_events, 2);
    assert_int_equal(r.data_len, 1);
}

static void test_parse_close(void **state)
{
    unsigned char buf[64];
    struct ws_parser p;
    static struct result r;

    size_t n = client_frame(buf, 0x88, "\x0f\xa0ok", 4, MASK);
    ws_parser_init(&p, 16);
    parse_all(&p, buf, n, 0, &r);
    assert_int_equal(r.error, 0);
    assert_int_equal(r.nctl, 1);
    assert_int_equal(r.ctl[0], WS_OP_CLOSE);
    assert_int_equal(r.close_code[0], 4000);
    assert_memory_equal(r.ctl_payload[0] + 2, "ok", 2);

    n = client_frame(buf, 0x88, NULL, 0, MASK);
    ws_parser_init(&p, 16);
    parse_all(&p, buf, n, 0, &r);
    assert_int_equal(r.close_code[0], WS_CLOSE_NO_STATUS);

    /* one byte is not a code; 1005 and 999 may not be sent */
    const char *bad[] = {"\x03", "\x03\xed", "\x03\xe7"};
    size_t lens[] = {1, 2, 2};
    for (size_t i = 0; i < 3; i++) {
        n = client_frame(buf, 0x88, bad[i], lens[i], MASK);
        ws_parser_init(&p, 16);
        parse_all(&p, buf, n, 0, &r);
        assert_int_equal(r.error, WS_CLOSE_PROTOCOL);
    }
}

static void expect_error(const unsigned char *frame, size_t len, uint64_t max, uint16_t code)
{
    unsigned char buf[128];
    memcpy(buf, frame, len);
    struct ws_parser p;
    ws_parser_init(&p, max);
    static struct result r;
    parse_all(&p, buf, len, 0, &r);
    assert_int_equal(r.error, code);
    /* the parser stays failed and consumes nothing more */
    struct ws_event ev;
    unsigned char more[] = {0x81, 0x80, 0, 0, 0, 0};
    assert_int_equal(ws_parse(&p, more, sizeof(more), &ev), 0);
    assert_int_equal(ev.kind, WS_EV_ERROR);
    assert_int_equal(ev.code, code);
}

static void test_parse_errors(void **state)
{
    unsigned char f[128];
    size_t n;

    n = client_frame(f, 0x81, "plain", 5, NULL);
    expect_error(f, n, 1024, WS_CLOSE_PROTOCOL); /* unmasked */
    for (unsigned rsv = 0x10; rsv <= 0x40; rsv <<= 1) {
        n = client_frame(f, 0x81 | rsv, "x", 1, MASK);
        expect_error(f, n, 1024, WS_CLOSE_PROTOCOL);
    }
    unsigned bad_ops[] = {3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf};
    for (size_t i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
        n = client_frame(f, 0x80 | bad_ops[i], "x", 1, MASK);
        expect_error(f, n, 1024, WS_CLOSE_PROTOCOL);
    }
    /* a continuation with no message begun */
    n = client_frame(f, 0x80, "x", 1, MASK);
    expect_error(f, n, 1024, WS_CLOSE_PROTOCOL);
    /* a new message inside a fragmented one */
    n = client_frame(f, 0x01, "a", 1, MASK);
    n += client_frame(f + n, 0x82, "b", 1, MASK);
    expect_error(f, n, 1024, WS_CLOSE_PROTOCOL);
    /* control frames: never fragmented, at most 125 bytes */
    n = client_frame(f, 0x09, "x", 1, MASK);
    expect_error(f, n, 1024, WS_CLOSE_PROTOCOL);
    unsigned char long_ping[] = {0x89, 0xfe, 0x00, 0x7e};
    expect_error(long_ping, sizeof(long_ping), 1024, WS_CLOSE_PROTOCOL);
    /* a 64-bit length with its top bit set */
    unsigned char msb[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
    expect_error(msb, sizeof(msb), UINT64_MAX, WS_CLOSE_PROTOCOL);
}

static void test_parse_size_cap(void **state)
{
    unsigned char f[300];
    struct ws_parser p;
    static struct result r;

    /* exactly the cap passes */
    static const char payload[200] = {0};
    size_t n = client_frame(f, 0x82, payload, 200, MASK);
    ws_parser_init(&p, 200);
    parse_all(&p, f, n, 0, &r);
    assert_int_equal(r.error, 0);
    assert_int_equal(r.data_len, 200);

    /* one more is refused by the header alone, before any payload */
    n = client_frame(f, 0x82, NULL, 201, MASK);
    expect_error(f, n, 200, WS_CLOSE_TOO_BIG);
    /* a 64-bit length far beyond, in a fragment of a message */
    n = client_frame(f, 0x02, "ab", 2, MASK);
    n += client_frame(f + n, 0x80, NULL, (uint64_t)1 << 40, MASK);
    expect_error(f, n, 200, WS_CLOSE_TOO_BIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key),
        cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_pick_protocol),
        cmocka_unit_test(test_frame_header),
        cmocka_unit_test(test_close_frame),
        cmocka_unit_test(test_parse_masked_text),
        cmocka_unit_test(test_parse_fragments_any_cut),
        cmocka_unit_test(test_parse_empty_frames),
        cmocka_unit_test(test_parse_close),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_size_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
