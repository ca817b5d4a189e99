/* What Docker's `top`, `stats` and `update` ask of the engine: the container's processes as
 * the host's ps lists them, one resource-usage sample read from its cgroups (v1, v2 or the
 * hybrid layout) in Docker's stats JSON, and new resource limits applied to a running container
 * through the runtime and kept in its record. The pure parsers these are built from are
 * declared at the end, for the unit tests. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct eng;

/* GET /containers/{id}/top: runs `ps` with ps_args (NULL or "": "-ef") and keeps the rows of
 * the container's processes: {"Titles":[...],"Processes":[[...],...]} (new object). Errors:
 * ENOENT no such container; EBUSY (409) "Container <id> is not running" or restarting; EINVAL
 * ps_args that rename a column to PID, or ps output without a PID column; EIO ps failed. */
json_t *eng_top(struct eng *e, const char *ref, const char *ps_args, struct berr **err);

/* One sample in the shape of GET /containers/{id}/stats (API 1.47's StatsJSON: read, preread,
 * pids_stats, blkio_stats, num_procs, storage_stats, cpu_stats, precpu_stats, memory_stats,
 * name, id, networks). prev (may be NULL) is the previous sample of the same stream: its read
 * and cpu_stats become this one's preread and precpu_stats. A container that is not running
 * (or restarting) gives Docker's zeroed sample and *running false. Returns a new object, or
 * NULL (ENOENT) when the container does not exist. */
json_t *eng_stats_sample(struct eng *e, const char *ref, const json_t *prev, bool *running,
                         struct berr **err);

/* POST /containers/{id}/update: update is Docker's UpdateConfig (the Resources fields Memory,
 * MemoryReservation, MemorySwap, NanoCpus, CpuShares, CpuPeriod, CpuQuota, CpuRealtimePeriod,
 * CpuRealtimeRuntime, CpusetCpus, CpusetMems, PidsLimit, BlkioWeight, and RestartPolicy; zero
 * or absent fields are left as they are, others are ignored). Validated as Docker does (the
 * create checks on the update, then its conflicts with the current limits), kept in the
 * record's HostConfig (inspect shows it, a start uses it), and applied at once to a running or
 * paused container through `runtime update`; the record is restored when that fails. Appends
 * warnings (strings) to warnings. Errors: ENOENT, EINVAL bad values, EBUSY conflicts (restart
 * policy with AutoRemove, NanoCpus against CpuPeriod...), EIO the runtime refused. */
int eng_update(struct eng *e, const char *ref, json_t *update, json_t *warnings, struct berr **err);

/* ---- Parsers: pure functions of file contents (tests/unit/test_stats.c) ---- */

/* A container's cgroup directories on the host, from its /proc/<pid>/cgroup and our
 * /proc/self/mountinfo. NULL where that hierarchy or controller is not mounted. */
enum eng_stats_ctrl {
    ENG_STATS_CPU,
    ENG_STATS_CPUACCT,
    ENG_STATS_MEMORY,
    ENG_STATS_PIDS,
    ENG_STATS_BLKIO,
    ENG_STATS_NCTRL,
};
struct eng_stats_cgroups {
    char *v1[ENG_STATS_NCTRL]; /* cgroup v1 directory per controller */
    char *v2;                  /* the unified (cgroup2) directory */
};
void eng_stats_cgroups_init(struct eng_stats_cgroups *cg);
void eng_stats_cgroups_free(struct eng_stats_cgroups *cg);
/* Fills cg (already initialized) from the two files' text. EINVAL when proc_cgroup names no
 * hierarchy that mountinfo has mounted. */
int eng_stats_cgroup_dirs(const char *proc_cgroup, const char *mountinfo,
                          struct eng_stats_cgroups *cg, struct berr **err);

/* /proc/stat: the "cpu" line's first seven fields as nanoseconds (USER_HZ is 100 on every
 * Linux ABI, as Docker assumes) and the number of "cpuN" lines. -1 when the text has no cpu
 * line. */
int eng_stats_parse_proc_stat(const char *text, uint64_t *total_ns, uint32_t *ncpus);
/* /proc/meminfo's MemTotal in bytes, 0 when absent. */
uint64_t eng_stats_parse_meminfo_total(const char *text);
/* "key value" lines (memory.stat, cpu.stat, cpuacct.stat, memory.events) as an object of
 * integers; lines of another shape are skipped. Values above INT64_MAX are clamped. */
json_t *eng_stats_parse_keyed(const char *text);
/* A number list (cpuacct.usage_percpu) as an array of integers. */
json_t *eng_stats_parse_numbers(const char *text);
/* A single value file: a number, or "max" (UINT64_MAX). false when neither. */
bool eng_stats_parse_value(const char *text, uint64_t *out);
/* A blkio v1 file ("8:0 Read 4096" lines; the closing "Total N" line is skipped) as Docker's
 * entries [{"major","minor","op","value"}]. */
json_t *eng_stats_parse_blkio_v1(const char *text);
/* cgroup v2 io.stat ("8:0 rbytes=1 wbytes=2 ...") as io_service_bytes_recursive entries, a
 * "read" and a "write" one per device, as Docker gives them on v2; NULL when there is none. */
json_t *eng_stats_parse_io_stat(const char *text);
/* /proc/<pid>/net/dev as {"eth0":{"rx_bytes":..,"rx_packets","rx_errors","rx_dropped",
 * "tx_bytes","tx_packets","tx_errors","tx_dropped"}}, without "lo". */
json_t *eng_stats_parse_net_dev(const char *text);

/* Docker's check of ps_args: no column may be renamed to PID ("-o comm=PID"). */
int eng_top_check_ps_args(const char *ps_args, struct berr **err);
/* ps output to {"Titles","Processes"}, keeping rows whose PID is in pids (and the thread rows,
 * PID "-", that follow a kept row); the last column takes the rest of a row's words. EINVAL
 * when there is no PID column or a PID is not a number. */
json_t *eng_top_parse_ps(const char *output, const pid_t *pids, size_t n, struct berr **err);
