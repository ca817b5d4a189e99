/* The event bus: a bounded ring of recent events for `since` replays, and per-subscriber
 * queues woken through an eventfd, so an /events stream can wait on its events and its
 * client's hang-up at once. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "engine/events.h"

#define RING_SIZE     256 /* what Docker keeps for since replays */
#define SUB_QUEUE_MAX 4096

struct ev_sub {
    struct ev_bus *bus;
    struct ev_sub *next;
    json_t **q;
    size_t head, len, cap;
    int efd;
    bool overflowed;
};

struct ev_bus {
    pthread_mutex_t mu;
    json_t *ring[RING_SIZE];
    size_t ring_next, ring_len;
    struct ev_sub *subs;
};

struct ev_bus *ev_bus_new(void)
{
    struct ev_bus *b = xcalloc(1, sizeof(*b));
    pthread_mutex_init(&b->mu, NULL);
    return b;
}

void ev_bus_free(struct ev_bus *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < RING_SIZE; i++)
        json_decref(b->ring[i]);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static void sub_push(struct ev_sub *s, json_t *ev)
{
    if (s->len == SUB_QUEUE_MAX) {
        /* a subscriber that stopped reading loses events rather than growing without bound */
        s->overflowed = true;
        return;
    }
    if (s->len == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        json_t **nq = xcalloc(ncap, sizeof(*nq));
        for (size_t i = 0; i < s->len; i++)
            nq[i] = s->q[(s->head + i) % s->cap];
        free(s->q);
        s->q = nq;
        s->head = 0;
        s->cap = ncap;
    }
    s->q[(s->head + s->len) % s->cap] = json_incref(ev);
    s->len++;
    uint64_t one = 1;
    if (write(s->efd, &one, sizeof(one)) < 0) {
        /* the counter cannot overflow with at most SUB_QUEUE_MAX writes unread */
    }
}

void ev_publish(struct ev_bus *b, const char *type, const char *action, const char *id,
                json_t *attrs)
{
    if (b == NULL) {
        json_decref(attrs);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t nano = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    if (attrs == NULL)
        attrs = json_object();
    json_t *ev =
        json_pack("{s:s, s:s, s:{s:s, s:o}, s:s, s:I, s:I}", "Type", type, "Action", action,
                  "Actor", "ID", id != NULL ? id : "", "Attributes", attrs, "scope", "local",
                  "time", (json_int_t)ts.tv_sec, "timeNano", (json_int_t)nano);
    if (ev == NULL)
        abort();
    /* the fields older clients read */
    if (strcmp(type, "container") == 0 || strcmp(type, "image") == 0) {
        json_object_set_new(ev, "status", json_string(action));
        json_object_set_new(ev, "id", json_string(id != NULL ? id : ""));
        json_t *img = json_object_get(attrs, "image");
        if (strcmp(type, "container") == 0 && json_is_string(img))
            json_object_set(ev, "from", img);
    }
    pthread_mutex_lock(&b->mu);
    json_decref(b->ring[b->ring_next]);
    b->ring[b->ring_next] = ev;
    b->ring_next = (b->ring_next + 1) % RING_SIZE;
    if (b->ring_len < RING_SIZE)
        b->ring_len++;
    for (struct ev_sub *s = b->subs; s != NULL; s = s->next)
        sub_push(s, ev);
    pthread_mutex_unlock(&b->mu);
}

struct ev_sub *ev_subscribe(struct ev_bus *b, int64_t since_ns)
{
    struct ev_sub *s = xcalloc(1, sizeof(*s));
    s->bus = b;
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->efd < 0)
        abort();
    pthread_mutex_lock(&b->mu);
    if (since_ns > 0) {
        size_t start = (b->ring_next + RING_SIZE - b->ring_len) % RING_SIZE;
        for (size_t i = 0; i < b->ring_len; i++) {
            json_t *ev = b->ring[(start + i) % RING_SIZE];
            if (json_integer_value(json_object_get(ev, "timeNano")) >= since_ns)
                sub_push(s, ev);
        }
    }
    s->next = b->subs;
    b->subs = s;
    pthread_mutex_unlock(&b->mu);
    return s;
}

json_t *ev_next(struct ev_sub *s, int timeout_ms)
{
    for (;;) {
        pthread_mutex_lock(&s->bus->mu);
        if (s->len > 0) {
            json_t *ev = s->q[s->head];
            s->head = (s->head + 1) % s->cap;
            s->len--;
            if (s->len == 0) {
                uint64_t v;
                if (read(s->efd, &v, sizeof(v)) < 0) {
                    /* EAGAIN: already drained */
                }
            }
            pthread_mutex_unlock(&s->bus->mu);
            return ev;
        }
        pthread_mutex_unlock(&s->bus->mu);
        if (timeout_ms == 0)
            return NULL;
        struct pollfd p = {.fd = s->efd, .events = POLLIN};
        int n = poll(&p, 1, timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
    }
}

int ev_sub_fd(struct ev_sub *s)
{
    return s->efd;
}

void ev_unsubscribe(struct ev_sub *s)
{
    if (s == NULL)
        return;
    struct ev_bus *b = s->bus;
    pthread_mutex_lock(&b->mu);
    for (struct ev_sub **pp = &b->subs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&b->mu);
    for (size_t i = 0; i < s->len; i++)
        json_decref(s->q[(s->head + i) % s->cap]);
    free(s->q);
    close(s->efd);
    free(s);
}
