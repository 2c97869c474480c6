/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cmd_export.c - `chio export`: the options and signals of the
 * exporter; the work is src/export/exporter.c (docs/fleet.md).
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../export/export.h"
#include "cli.h"

static const char export_usage[] =
    "usage: chio export --receipt-db DIR --nats URL[,URL...] [--stream NAME] [--follow]\n"
    "                   [--batch N]\n"
    "\n"
    "Publish every receipt and checkpoint of the store in DIR, in sequence order,\n"
    "each exactly once, to the JetStream stream NAME (default CHIO; created when\n"
    "missing, 3 replicas when the cluster has 3 servers or more) on the subjects\n"
    "chio.<kernel key>.receipts and chio.<kernel key>.checkpoints. A message\n"
    "carries a run of consecutive items (up to N receipts, --batch, default and\n"
    "most 256, and 512 KiB; one checkpoint): their stored canonical JSON joined\n"
    "by newlines, with headers Chio-Seq and Chio-Last-Seq (the run), Nats-Msg-Id\n"
    "(<key>:<first>-<last>:<digest>:<tag> or <key>:cp:<first>-<last>:<digest>:<tag>,\n"
    "the digest 32 hex digits of the body's SHA-256, the tag 16 hex digits of an\n"
    "HMAC under a secret of this run that no one else can compute) and the\n"
    "subject's expected last sequence, so the stream refuses a duplicate or a\n"
    "run out of order.\n"
    "A run resumes after what the stream already holds for the kernel; it\n"
    "refuses to publish (exit 1) when the stream holds receipts this store lacks\n"
    "or has different bytes for (a rolled-back store: see chio fleet witness).\n"
    "The acknowledged position is\n"
    "written to DIR/chio-export-NAME.json.\n"
    "\n"
    "--follow keeps tailing a live kernel's store (as receipt list --tail does)\n"
    "and waits out unreachable servers, until SIGINT or SIGTERM (exit 0 after\n"
    "the publish in flight is acknowledged). Without it the run ends when the\n"
    "store is exported, or fails after 60 s without an acknowledgement.\n"
    "Prints one JSON summary line. Reference: docs/fleet.md.\n"
    "\n"
    "exit status: 0 exported, 1 the stream disagrees with the store, 2 bad usage,\n"
    "an unreadable store or unreachable servers\n";

static atomic_int export_stop; /* lock-free: set from the signal handler */

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&export_stop, 1);
}

int cmd_export(int argc, char **argv)
{
    cli_opt o[] = {{"receipt-db", 1, 0, 0, 0, 0},
                   {"nats", 1, 0, 0, 0, 0},
                   {"stream", 1, 0, 0, 0, 0},
                   {"follow", 0, 0, 0, 0, 0},
                   {"batch", 1, 0, 0, 0, 0}};
    chio__export_config cfg;
    struct sigaction sa;
    size_t npos;
    FILE *err;
    int rc;

    rc = cli_parse(argc, argv, o, 5, NULL, 0, &npos, "export", export_usage);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if (o[0].value == NULL)
        return cli_error("export", "--receipt-db DIR is required");
    if (o[1].value == NULL)
        return cli_error("export", "--nats URL[,URL...] is required");
    if (!cli_store_dir_present("export", o[0].value))
        return CLI_USAGE;
    memset(&cfg, 0, sizeof(cfg));
    cfg.db = o[0].value;
    cfg.urls = o[1].value;
    cfg.stream = o[2].value ? o[2].value : "CHIO";
    cfg.follow = o[3].value != NULL;
    if (o[4].value != NULL) {
        char *end = NULL;
        unsigned long n = strtoul(o[4].value, &end, 10);
        if (o[4].value[0] < '0' || o[4].value[0] > '9' || *end != '\0' || n < 1 ||
            n > CHIO__EXPORT_MAX_ITEMS)
            return cli_error("export", "--batch must be 1-256");
        cfg.max_batch = (unsigned)n;
    }
    cfg.stop = &export_stop;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: naps end early */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* its messages through the CLI's rule: no seed typed as an argument
     * is quoted back (cli/redact_args.c) */
    err = cli_redacting_stream(stderr);
    rc = chio__export_run(&cfg, stdout, err);
    cli_redacting_close(err, stderr);
    return rc;
}
