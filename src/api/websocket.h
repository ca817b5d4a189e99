/* RFC 6455 WebSocket, the server's half, as pure functions: the opening handshake's checks and
 * Sec-WebSocket-Accept, the frames a server sends (never masked), and an incremental parser of
 * the frames a client sends (masked, maybe fragmented, with control frames between fragments).
 * No I/O here: the caller reads and writes its socket. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

/* Close codes (RFC 6455 7.4.1) this server sends or reports. */
#define WS_CLOSE_NORMAL    1000
#define WS_CLOSE_PROTOCOL  1002
#define WS_CLOSE_NO_STATUS 1005 /* reported for a close frame without a code; never sent */
#define WS_CLOSE_TOO_BIG   1009

#define WS_ACCEPT_LEN  28 /* base64 of a SHA-1 */
#define WS_HEADER_MAX  10 /* a server frame's header: 2 bytes and a 64-bit length, no mask */
#define WS_CONTROL_MAX 125

/* ---- Opening handshake ---- */
struct ws_handshake {
    int status;        /* when refused: the HTTP status to answer */
    const char *error; /* when refused: the body to answer it with (golang.org/x/net's words) */
    bool bad_version;  /* when refused for the version: answer with Sec-WebSocket-Version: 13 */
    char accept[WS_ACCEPT_LEN + 1];
};
/* Checks a client's opening handshake (RFC 6455 4.2.1) from its method and header values
 * (NULL when absent): a GET with Upgrade: websocket, Connection: Upgrade, a Sec-WebSocket-Key
 * that is the base64 of 16 bytes, and Sec-WebSocket-Version 13. Returns 0 and fills h->accept,
 * or -1 with h->status and h->error. */
int ws_handshake_check(struct ws_handshake *h, const char *method, const char *upgrade,
                       const char *connection, const char *key, const char *version);
/* base64(SHA-1(key + RFC 6455's GUID)) into out (WS_ACCEPT_LEN + 1 bytes). */
void ws_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1]);
/* The first subprotocol of a Sec-WebSocket-Protocol offer ("a, b"), trimmed, into out; false
 * when the offer is absent or empty or the name does not fit. */
bool ws_pick_protocol(const char *offer, char *out, size_t size);

/* ---- Server frames ---- */
/* The header of one final (FIN) frame of op carrying len bytes; returns its length (2, 4 or
 * 10). */
size_t ws_frame_header(unsigned char hdr[WS_HEADER_MAX], enum ws_opcode op, uint64_t len);
/* A whole close frame: code and as much of reason as fits a control frame; returns its length
 * (at most 2 + WS_CONTROL_MAX). WS_CLOSE_NO_STATUS gives a close frame with no payload. */
size_t ws_close_frame(unsigned char out[2 + WS_CONTROL_MAX], uint16_t code, const char *reason);
/* Whether a client may send this code in a close frame (1000-1003, 1007-1014, 3000-4999). */
bool ws_close_code_valid(unsigned code);

/* ---- Client frames ---- */
enum ws_event_kind {
    WS_EV_NONE,    /* the input ran out before anything complete */
    WS_EV_DATA,    /* payload bytes of a text or binary message */
    WS_EV_CONTROL, /* a whole close, ping or pong frame */
    WS_EV_ERROR,   /* the client broke the protocol: close with code; the parser is done */
};
struct ws_event {
    enum ws_event_kind kind;
    enum ws_opcode opcode; /* DATA: the message's (text or binary); CONTROL: the frame's */
    unsigned char *data;   /* DATA: unmasked in place in the caller's input; CONTROL: the
                              parser's copy of the payload (valid until the next call) */
    size_t len;
    bool last;     /* DATA: these are the message's last bytes */
    uint16_t code; /* CONTROL close: the code received (WS_CLOSE_NO_STATUS when none); ERROR:
                      the code to close with */
};

/* Parser state, one per connection; zeroed by ws_parser_init. */
struct ws_parser {
    uint64_t max_frame;
    unsigned char hdr[14];
    size_t hdr_len, hdr_need;
    bool in_payload;
    enum ws_opcode opcode;
    bool fin;
    unsigned char mask[4];
    uint64_t left; /* payload bytes of the current frame still to come */
    uint64_t seen; /* payload bytes of the current frame already unmasked (the mask's phase) */
    bool in_message;
    enum ws_opcode msg_opcode;
    unsigned char ctl[WS_CONTROL_MAX];
    size_t ctl_len;
    bool failed;
    uint16_t fail_code;
};
/* max_frame bounds one frame's payload: a larger one is refused with WS_CLOSE_TOO_BIG as soon
 * as its header is in, before any of its payload is read. */
void ws_parser_init(struct ws_parser *p, uint64_t max_frame);
/* Consumes input from buf (len bytes, unmasked in place) up to and including the next event,
 * which it fills; returns the bytes consumed. Call again with the rest while some remains:
 * WS_EV_NONE comes only with all of len consumed. After WS_EV_ERROR every call consumes
 * nothing and gives the same error. */
size_t ws_parse(struct ws_parser *p, unsigned char *buf, size_t len, struct ws_event *ev);
