/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cmd_export.c - `chio export`: the options and signals of the
 * exporter; the work is src/export/exporter.c (docs/fleet.md).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../export/export.h"
#include "cli.h"

static const char export_usage[] =
    "usage: chio export --receipt-db DIR --nats URL[,URL...] [--stream NAME] [--follow]\n"
    "\n"
    "Publish every receipt and checkpoint of the store in DIR, in sequence order,\n"
    "each exactly once, to the JetStream stream NAME (default CHIO; created when\n"
    "missing, 3 replicas when the cluster has 3 servers or more) on the subjects\n"
    "chio.<kernel key>.receipts and chio.<kernel key>.checkpoints. Each message\n"
    "is the stored canonical JSON with headers Nats-Msg-Id (<key>:<seq> or\n"
    "<key>:cp:<seq>), Chio-Seq and the subject's expected last sequence, so the\n"
    "stream refuses a duplicate or a message out of order. A run resumes after\n"
    "what the stream already holds for the kernel; it refuses to publish (exit 1)\n"
    "when the stream holds receipts this store lacks or has different bytes for\n"
    "(a rolled-back store: see chio fleet witness). The acknowledged position is\n"
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

static volatile sig_atomic_t export_stop;

static void on_signal(int sig)
{
    (void)sig;
    export_stop = 1;
}

int cmd_export(int argc, char **argv)
{
    cli_opt o[] = {{"receipt-db", 1, 0, 0, 0, 0},
                   {"nats", 1, 0, 0, 0, 0},
                   {"stream", 1, 0, 0, 0, 0},
                   {"follow", 0, 0, 0, 0, 0}};
    chio__export_config cfg;
    struct sigaction sa;
    size_t npos;
    int rc;

    rc = cli_parse(argc, argv, o, 4, NULL, 0, &npos, "export", export_usage);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if (o[0].value == NULL)
        return cli_error("export", "--receipt-db DIR is required");
    if (o[1].value == NULL)
        return cli_error("export", "--nats URL[,URL...] is required");
    memset(&cfg, 0, sizeof(cfg));
    cfg.db = o[0].value;
    cfg.urls = o[1].value;
    cfg.stream = o[2].value ? o[2].value : "CHIO";
    cfg.follow = o[3].value != NULL;
    cfg.stop = &export_stop;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: naps end early */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return chio__export_run(&cfg, stdout, stderr);
}
