/* The late-bound libraries of berthd and berth (src/lazylib/lazylibs.c): every function
 * wrapped can be bound from the sonames named, the variadic curl wrappers pass each kind of
 * argument through, base64 and a tar round trip work through the wrappers, and neither berthd
 * nor berth links the three libraries (so they really are loaded late). This program is linked
 * like them: with the wrappers and without the libraries. */
#define CURL_DISABLE_TYPECHECK 1

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lazylib/lazylibs.h"

static void all_functions_bind(void **state)
{
    (void)state;
    char missing[1024];
    int n = lazylibs_check(missing, sizeof(missing));
    if (n != 0)
        fail_msg("%d functions cannot be bound: %s", n, missing);
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

static void curl_variadic_arguments(void **state)
{
    (void)state;
    CURL *c = curl_easy_init();
    assert_non_null(c);
    /* a string, a long, a function pointer and an off_t option */
    assert_int_equal(curl_easy_setopt(c, CURLOPT_URL, "http://127.0.0.1:1/x?y"), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)1 << 20),
                     CURLE_OK);
    /* a long out of range is refused: the value arrived as the long it is */
    assert_int_equal(curl_easy_setopt(c, CURLOPT_HTTP_VERSION, 999L), CURLE_UNSUPPORTED_PROTOCOL);
    char *url = NULL;
    assert_int_equal(curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &url), CURLE_OK);
    assert_string_equal(url, "http://127.0.0.1:1/x?y");
    long code = -1;
    assert_int_equal(curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code), CURLE_OK);
    assert_int_equal(code, 0);
    curl_easy_cleanup(c);

    CURLSH *sh = curl_share_init();
    assert_non_null(sh);
    assert_int_equal(curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS), CURLSHE_OK);
    assert_int_equal(curl_share_setopt(sh, CURLSHOPT_USERDATA, sh), CURLSHE_OK);
    assert_int_equal(curl_share_setopt(sh, CURLSHOPT_SHARE, 9999), CURLSHE_BAD_OPTION);
    curl_share_cleanup(sh);
}

static void base64_through_wrappers(void **state)
{
    (void)state;
    unsigned char out[16];
    assert_int_equal(EVP_EncodeBlock(out, (const unsigned char *)"ab", 2), 4);
    assert_memory_equal(out, "YWI=", 4);
    assert_int_equal(EVP_DecodeBlock(out, (const unsigned char *)"YWJj", 4), 3);
    assert_memory_equal(out, "abc", 3);
}

static void tar_round_trip(void **state)
{
    if (state != NULL)
        (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    struct archive *w = archive_write_new();
    assert_int_equal(archive_write_set_format_pax_restricted(w), ARCHIVE_OK);
    assert_int_equal(archive_write_open_fd(w, fileno(f)), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "dir/file");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0640);
    archive_entry_set_size(e, 5);
    assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
    assert_int_equal(archive_write_data(w, "hello", 5), 5);
    archive_entry_free(e);
    assert_int_equal(archive_write_close(w), ARCHIVE_OK);
    archive_write_free(w);

    assert_int_equal(lseek(fileno(f), 0, SEEK_SET), 0);
    struct archive *r = archive_read_new();
    archive_read_support_format_tar(r);
    assert_int_equal(archive_read_open_fd(r, fileno(f), 10240), ARCHIVE_OK);
    assert_int_equal(archive_read_next_header(r, &e), ARCHIVE_OK);
    assert_string_equal(archive_entry_pathname(e), "dir/file");
    assert_int_equal(archive_entry_perm(e), 0640);
    char buf[16];
    assert_int_equal(archive_read_data(r, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "hello", 5);
    /* the formatted-message wrapper */
    archive_set_error(r, 42, "bad %s %d", "thing", 7);
    assert_int_equal(archive_errno(r), 42);
    assert_string_equal(archive_error_string(r), "bad thing 7");
    archive_read_free(r);
    fclose(f);
}

static bool mapped(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[1024];
    bool found = false;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, name))
            found = true;
    fclose(f);
    return found;
}

/* libarchive is let go only with none of its objects alive, and comes back on the next use. */
static void archive_released_when_idle(void **state)
{
    (void)state;
    tar_round_trip(NULL);
    assert_int_equal(lazylibs_objects("libarchive.so.13"), 0);
    struct archive *a = archive_read_new();
    struct archive_entry *e = archive_entry_new();
    assert_int_equal(lazylibs_objects("libarchive.so.13"), 2);
    assert_int_equal(lazylibs_release(), 0);
    assert_true(mapped("libarchive.so"));
    archive_read_free(a);
    assert_int_equal(lazylibs_release(), 0);
    archive_entry_free(e);
    archive_read_free(NULL);
    assert_int_equal(lazylibs_objects("libarchive.so.13"), 0);
    assert_int_equal(lazylibs_release(), 1);
    assert_false(mapped("libarchive.so"));
    assert_false(mapped("libxml2.so"));
    /* bound again in the new load */
    tar_round_trip(NULL);
    assert_true(mapped("libarchive.so"));
    assert_int_equal(lazylibs_release(), 1);
    /* curl and libcrypto stay */
    assert_true(mapped("libcurl.so"));
}

static atomic_bool workers_done;

static void *round_trips(void *arg)
{
    (void)arg;
    for (int i = 0; i < 40; i++)
        tar_round_trip(NULL);
    return NULL;
}

static void *releaser(void *arg)
{
    int *released = arg;
    while (!atomic_load(&workers_done))
        *released += lazylibs_release();
    return NULL;
}

/* Unloading races with calls on other threads: every call finds its library loaded. */
static void release_races_with_use(void **state)
{
    (void)state;
    pthread_t w[3], r;
    int released = 0;
    atomic_store(&workers_done, false);
    assert_int_equal(pthread_create(&r, NULL, releaser, &released), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&w[i], NULL, round_trips, NULL), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(w[i], NULL);
    atomic_store(&workers_done, true);
    pthread_join(r, NULL);
    assert_int_equal(lazylibs_objects("libarchive.so.13"), 0);
    print_message("libarchive unloaded %d times under 120 round trips\n", released);
}

/* The libraries must not be among berthd's, berth's, nor this program's dependencies. */
static void not_linked(void **state)
{
    (void)state;
    const char *paths[] = {"/proc/self/exe", getenv("BERTHD"), getenv("BERTH_CLI")};
    for (size_t i = 0; i < 3; i++) {
        if (paths[i] == NULL)
            continue;
        char cmd[4096];
        snprintf(cmd, sizeof(cmd), "readelf -d '%s'", paths[i]);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        char line[512];
        int needed = 0;
        while (fgets(line, sizeof(line), p)) {
            if (strstr(line, "(NEEDED)") == NULL)
                continue;
            needed++;
            if (strstr(line, "libarchive") || strstr(line, "libcurl") || strstr(line, "libcrypto"))
                fail_msg("%s links %s", paths[i], line);
        }
        assert_int_equal(pclose(p), 0);
        assert_true(needed > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(not_linked),
        cmocka_unit_test(all_functions_bind),
        cmocka_unit_test(curl_variadic_arguments),
        cmocka_unit_test(base64_through_wrappers),
        cmocka_unit_test(tar_round_trip),
        cmocka_unit_test(archive_released_when_idle),
        cmocka_unit_test(release_races_with_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
