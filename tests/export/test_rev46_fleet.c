/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_rev46_fleet.c - review 46 of the export and fleet
 * path, on a one-node JetStream server (scripts/nats-cluster.sh): a store
 * put back in place from a copy of its own under a --follow exporter is
 * refused, not silently left unexported; an in-host exporter stops at
 * once whatever its poll_ms; runs are cut to a stream's own max_msg_size;
 * a position file whose fsync fails leaks no descriptor (fsync made to
 * fail by a seccomp filter in a child); a password with an '@' in a
 * server URL is hidden whole; a server's text keeps no ill-formed UTF-8
 * (overlong controls); the usage texts name the message id and the
 * witness's key as the code has them. Real kernels, stores,
 * servers and build/chio processes throughout.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <nats/nats.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chio/export_nats.h"
#include "common/poll.h"
#include "common/testutil.h"
#include "export/export.h"
#include "export/fleetutil.h"
#include "export/transport.h"

static char *dir, *nc, *urls;

static void setup(void)
{
    fu_suite_up(&dir, &nc, &urls, 1);
}

static void teardown(void)
{
    fu_suite_down(&dir, &nc, &urls);
}

TestSuite(rev46_fleet, .init = setup, .fini = teardown);

static char *path_in(const char *name)
{
    return fu_path_in(dir, name);
}

#define CLI(timeout_ms, ...) fu_cli(dir, timeout_ms, (const char *const[]){__VA_ARGS__, NULL})

/* cp -a @from @to; with @in_place, @to's contents replaced by @from's
 * (the directory itself, its inode, kept). */
static void copy_store(const char *from, const char *to, int in_place)
{
    char cmd[2048];

    if (in_place)
        snprintf(cmd, sizeof(cmd), "find '%s' -mindepth 1 -delete && cp -a '%s'/. '%s'", to, from,
                 to);
    else
        snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", from, to);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* A store put back in place from a copy of its own (the directory and
 * RocksDB's IDENTITY unchanged) under a --follow exporter, then written on
 * by its kernel past where the stream stands: the exporter must refuse it
 * (exit 1), not publish the fork's receipts after the old history. */
Test(rev46_fleet, a_store_restored_in_place_under_follow_is_refused)
{
    char *db = path_in("db"), *bak = path_in("bak"), *log = path_in("follow.log");
    chio_kernel *k;
    pid_t pid;
    int st = -1;
    uint64_t end;
    fu_run v;

    k = fu_kernel(db, 0x46, 10);
    fu_sign(k, 20, "a");
    chio_kernel_free(k);
    copy_store(db, bak, 0);
    k = fu_kernel(db, 0x46, 10);
    fu_sign(k, 20, "b");
    pid = fu_spawn(
        log, (const char *const[]){"export", "--receipt-db", db, "--nats", urls, "--follow", NULL});
    for (end = testutil_now_ms() + 30000;
         testutil_now_ms() < end && fu_position(db, "CHIO", NULL) < 40;)
        testutil_nap_ms(5);
    cr_assert_eq(fu_position(db, "CHIO", NULL), 40, "exported");
    chio_kernel_free(k);
    /* back to the copy, in place: same directory, same IDENTITY */
    copy_store(bak, db, 1);
    k = fu_kernel(db, 0x46, 10);
    fu_sign(k, 40, "c"); /* 21..60, a fork of the published 21..40 */
    st = fu_wait(pid, 20000);
    chio_kernel_free(k);
    {
        size_t len;
        char *text = testutil_read_file(log, &len);
        cr_expect_eq(st, 1, "the exporter refuses the restored store (exit 1, got %d): %s", st,
                     text ? text : "");
        free(text);
    }
    v = CLI(60000, "fleet", "verify", "--nats", urls);
    cr_expect_eq(fu_field(fu_line(v.out, "{\"kernels\":"), "receipts"), 40,
                 "only the old history in the stream: %s%s", v.out, v.err);
    fu_run_free(&v);
    free(log);
    free(bak);
    free(db);
}

/* A host that looks at its exported store once a minute (poll_ms) stops
 * its exporter at once: chio_export_nats_stop() promises about 5 s.
 * Before, the thread napped the whole poll_ms before it looked for the
 * stop, and the host's shutdown waited it out. */
Test(rev46_fleet, an_in_host_exporter_stops_without_waiting_out_its_poll)
{
    char *db = path_in("db");
    chio_export_nats_config cfg;
    chio_export_nats_stats s;
    chio_export_nats *x = NULL;
    chio_kernel *k;
    chio_error err;
    uint64_t end, t0, took;
    int rc;

    k = fu_kernel(db, 0x48, 10);
    fu_sign(k, 5, "a");
    chio_export_nats_config_init(&cfg);
    cfg.receipt_db = db;
    cfg.urls = urls;
    cfg.kernel = k;
    cfg.poll_ms = 120000;
    chio_error_init(&err);
    cr_assert_eq(chio_export_nats_start(&cfg, &x, &err), 0, "%s", err.message);
    memset(&s, 0, sizeof(s));
    for (end = testutil_now_ms() + 30000; testutil_now_ms() < end; testutil_nap_ms(5)) {
        cr_assert_eq(chio_export_nats_stats_get(x, &s), 0);
        if (s.synced && s.acked_seq == 5)
            break;
    }
    cr_assert_eq(s.acked_seq, 5, "exported (running %d, exit %d)", s.running, s.exit_status);
    t0 = testutil_now_ms();
    rc = chio_export_nats_stop(x);
    took = testutil_now_ms() - t0;
    cr_expect_eq(rc, 0, "a clean stop");
    cr_expect_lt(took, 10000, "the stop took %llu ms (poll_ms 120000)", (unsigned long long)took);
    chio_kernel_free(k);
    free(db);
}

/* The stream CHIO made beforehand by an operator, with a limit on the
 * size of one message (max_msg_size) below what a run of receipts takes.
 * The exporter uses an existing stream as it is, so it must cut its runs
 * to the stream's limit too. Before, the server's refusal (JetStream
 * error 10054) was retried unchanged until the 60 s stall (for ever under
 * --follow): nothing was exported. */
Test(rev46_fleet, runs_fit_the_streams_max_msg_size)
{
    static const char *subjects[] = {"chio.*.receipts", "chio.*.checkpoints"};
    char *db = path_in("db");
    natsConnection *c = NULL;
    jsCtx *js = NULL;
    jsStreamConfig sc;
    jsStreamInfo *si = NULL;
    fu_run v;

    cr_assert_eq(natsConnection_ConnectTo(&c, urls), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, c, NULL), NATS_OK);
    jsStreamConfig_Init(&sc);
    sc.Name = "CHIO";
    sc.Subjects = subjects;
    sc.SubjectsLen = 2;
    sc.Storage = js_FileStorage;
    sc.MaxMsgSize = 16384;
    cr_assert_eq(js_AddStream(&si, js, &sc, NULL, NULL), NATS_OK);
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    natsConnection_Destroy(c);
    fu_fill(db, 0x49, 120, 50, "m");
    v = CLI(45000, "export", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 0, "export: %s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "receipts_published"), 120, "%s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "last_checkpoint_seq"), 2, "%s%s", v.out, v.err);
    fu_run_free(&v);
    v = CLI(60000, "fleet", "verify", "--nats", urls);
    cr_expect_eq(v.status, 0, "verify: %s%s", v.out, v.err);
    cr_expect_eq(fu_field(fu_line(v.out, "{\"kernels\":"), "receipts"), 120, "%s", v.out);
    fu_run_free(&v);
    free(db);
}

/* The usage texts say what the code does: the message id ends with the
 * tag of review 42 (`<digest>:<tag>`), and `chio fleet --help` lists the
 * witness's --kernel-key. Before, both still showed the older forms. */
Test(rev46_fleet, the_usage_texts_name_the_message_id_and_the_witness_key)
{
    fu_run v = CLI(10000, "export", "--help");

    cr_expect_eq(v.status, 0, "%s%s", v.out, v.err);
    cr_expect_not_null(strstr(v.out, "<key>:<first>-<last>:<digest>:<tag>"), "%s", v.out);
    cr_expect_not_null(strstr(v.out, "<key>:cp:<first>-<last>:<digest>:<tag>"), "%s", v.out);
    fu_run_free(&v);
    v = CLI(10000, "fleet", "--help");
    cr_expect_eq(v.status, 0, "%s%s", v.out, v.err);
    cr_expect_not_null(strstr(v.out, "witness --receipt-db DIR --nats URL [--stream NAME] "
                                     "[--kernel-key HEX]"),
                       "%s", v.out);
    fu_run_free(&v);
}

/* Open file descriptors of this process. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* In a child: every fsync(2) fails with EIO (a seccomp filter, the
 * kernel's own answer, as a disk that reports a write-back error gives),
 * the position file is written 200 times (each write fails), and the
 * child exits with the number of descriptors left open by them (at most
 * 100). */
static int fds_left_by_failed_saves(const char *path)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fsync, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EIO & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof(f) / sizeof(f[0])), f};
    pid_t pid = fork();
    int st = 0;

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int before, after, i, failed = 0;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
            _exit(255);
        before = open_fds();
        for (i = 0; i < 200; i++)
            failed += chio__export_write_atomically(path, "{}\n", 3) != 0;
        after = open_fds();
        if (failed != 200 || before < 0)
            _exit(254);
        _exit(after - before > 100 ? 100 : after - before);
    }
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st), "the child died (status %d)", st);
    return WEXITSTATUS(st);
}

/* A position file whose fsync fails (a disk reporting write-back errors,
 * a full quota on a network file system) must not cost a descriptor per
 * save: a --follow exporter saves once a second while it publishes, and
 * ran out of descriptors (NATS connections, store files) after about a
 * quarter of an hour. Before, fsync's failure skipped the close of the
 * temporary file. */
Test(rev46_fleet, a_position_file_that_cannot_be_synced_leaks_no_descriptor)
{
    char *path = path_in("chio-export-CHIO.json");
    int left = fds_left_by_failed_saves(path);

    cr_assert_neq(left, 255, "no seccomp filter here");
    cr_assert_neq(left, 254, "the saves did not all fail");
    cr_expect_eq(left, 0, "%d descriptors left open by 200 failed saves", left);
    free(path);
}

/* A password or token with an '@' in it (the NATS client takes the URL's
 * last '@' as the end of the userinfo, so "u:pa@ss@host" logs in as u
 * with the password "pa@ss") is hidden whole in every message that names
 * the servers. Before, the first '@' ended what was hidden:
 * "u:***@s3cr3t@127.0.0.1:1". */
Test(rev46_fleet, a_password_with_an_at_sign_is_hidden_whole)
{
    const char *creds = "nats://u:pa@s3cr3tpw@127.0.0.1:1,nats://t0k@s3cr3ttok@127.0.0.1:2";
    char *db = path_in("db");
    size_t i;

    fu_fill(db, 0x4a, 3, 10, "at");
    {
        const fu_run rs[] = {
            CLI(30000, "fleet", "verify", "--nats", creds),
            CLI(30000, "export", "--receipt-db", db, "--nats", creds),
            CLI(30000, "fleet", "witness", "--receipt-db", db, "--nats", creds),
        };
        for (i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
            fu_run r = rs[i];
            cr_expect_eq(r.status, 2, "run %zu: exit %d: %s", i, r.status, r.err);
            cr_expect_null(strstr(r.err, "s3cr3t"), "run %zu: %s", i, r.err);
            cr_expect_not_null(strstr(r.err, "u:***@127.0.0.1:1,nats://***@127.0.0.1:2"),
                               "run %zu: the user and the servers are still named: %s", i, r.err);
            fu_run_free(&r);
        }
    }
    free(db);
}

/* A server's text is quoted with each byte that is not UTF-8 shown as
 * '?' (docs/fleet.md): also an overlong form (ESC or the C1 control CSI
 * spelled in three bytes, which a lenient terminal decodes as the
 * control), a surrogate and a code point past U+10FFFF. Before, any lead
 * byte followed by continuation bytes passed. Well-formed text passes. */
Test(rev46_fleet, a_servers_text_keeps_no_ill_formed_utf8)
{
    static const char *const bad[] = {"\xe0\x80\x9b", "\xe0\x82\x9b",     "\xc0\x9b",
                                      "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf0\x80\x80\x9b"};
    char in[64], out[64];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(in, sizeof(in), "a%s[2Jb", bad[i]);
        chio__xp_shown(out, sizeof(out), in);
        cr_expect_eq(strspn(out, "?ab[2J"), strlen(out), "case %zu kept a byte: %s", i, out);
        cr_expect_not_null(strstr(out, "[2Jb"), "case %zu: %s", i, out);
    }
    chio__xp_shown(out, sizeof(out), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf");
    cr_expect_str_eq(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf");
}
