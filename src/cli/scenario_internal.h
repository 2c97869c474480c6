/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/scenario_internal.h - the parsed chio.scenario.v1 model shared by the
 * scenario reader (scenario_read.c, which builds and frees it) and
 * `chio scenario run` (cmd_scenario.c, which runs it), with the arguments
 * lifted out, and the tokens kept as written, by scenario_args.c. Private to those files; the model
 * borrows its strings and step objects from the parsed document it holds, so it lives exactly as
 * long as that document.
 */
#ifndef CHIO_CLI_SCENARIO_INTERNAL_H
#define CHIO_CLI_SCENARIO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "chio/chio.h"

/* Where reading stopped: the path of the bad field and "path: problem". */
typedef struct reader {
    char path[256];
    char msg[768];
} reader;

enum behavior { B_ECHO, B_FAIL, B_STREAM, B_SAMPLE, B_SAMPLE_TOOLS, B_ELICIT };

typedef struct server_spec {
    const char *id;
    const char **tools;
    size_t ntools;
    enum behavior behavior;
    uint64_t chunks, chunk_bytes, delay_ms;
} server_spec;

typedef struct guard_spec {
    const char *name;
    int secret; /* 0 forbidden_path, 1 secret_leak */
    const char **list;
    size_t n;
} guard_spec;

enum op { OP_OPEN, OP_CALL, OP_REVOKE, OP_BEGIN_DRAINING, OP_CLOSE, OP_DRAIN };

typedef struct step_spec {
    enum op op;
    const chio_json *obj;
    int has_at;
    uint64_t at;
} step_spec;

/* lifted_args.cap of a call's arguments (else the token's index). */
#define CHIO_LIFT_ARGS SIZE_MAX

/* A call's arguments, or an open_session step's capability token, whose
 * text the JSON parser refuses (scenario_args.c): kept as written, for the
 * kernel to refuse as that call's invalid arguments or that session's
 * token. */
typedef struct lifted_args {
    size_t step;
    size_t cap; /* CHIO_LIFT_ARGS, or the index in the step's capabilities */
    char *text;
    size_t len;
} lifted_args;

typedef struct scenario {
    chio_json_doc *doc;
    uint64_t clock;
    chio_kernel_config cfg;
    const char *seed_hex;
    uint8_t *ca;
    server_spec *servers;
    size_t nservers;
    guard_spec *guards;
    size_t nguards;
    step_spec *steps;
    size_t nsteps;
    lifted_args *lifted;
    size_t nlifted;
    lifted_args *written; /* every token object's text as written */
    size_t nwritten;
} scenario;

/* Parse and check @text whole into a zeroed @sc: 0, or -1 with
 * "path: problem" in rd->msg. Free @sc with chio__scenario_free() either way. */
int chio__scenario_read(reader *rd, scenario *sc, const char *text, size_t len);

/* Find the steps' arguments and capability tokens in @text that the parser
 * refuses on their own for a reason inside them (a lone surrogate, a NUL
 * in a key, a duplicate key, a number out of range, bad UTF-8, a raw
 * control character), keep their text in sc->lifted and write *work_out: a
 * copy of @text with them blanked, every byte offset kept (the caller
 * wipes and frees it; it may hold the seed). 0, or -1 when out of memory. */
int chio__scenario_lift_args(scenario *sc, const char *text, size_t len, char **work_out);

/* scenario_path.c: the path of the place at byte @off of @text where the
 * parser stopped ("steps[1].session" for a duplicate key starting there,
 * or "steps[1].arguments.a" for a lone surrogate in that string), at most
 * @steps steps of it, in @out (@cap bytes): the text before it is JSON as
 * far as it goes. Keys are shown as written. */
void chio__scenario_error_path(const char *text, size_t len, size_t off, size_t steps, char *out,
                               size_t cap);

/* The lifted arguments (@cap == CHIO_LIFT_ARGS) or token @cap of step
 * @step, or NULL. */
const lifted_args *chio__scenario_lifted(const scenario *sc, size_t step, size_t cap);

/* Keep the text of every token object in the steps' capabilities arrays
 * of @text (which parsed, possibly after lifting) as written, in
 * sc->written: an open_session presents a token's own bytes to the kernel,
 * never the parsed object re-serialised (that read "issued_at": -0 or
 * 1.710001e9, refused as written, as an integer; review 45). 0, or -1
 * when out of memory. chio__scenario_written(): token @cap of step @step
 * as written, or NULL. */
int chio__scenario_keep_tokens(scenario *sc, const char *text, size_t len);
const lifted_args *chio__scenario_written(const scenario *sc, size_t step, size_t cap);

/* Free what chio__scenario_read() built; @sc may be zeroed or half-built. */
void chio__scenario_free(scenario *sc);

/* The name of @op as a step's "op" spells it ("open_session", ...). */
const char *chio__scenario_op_name(enum op op);

/* Report @problem at @path (e.g. "tool_servers[2]") in rd->msg as
 * chio__scenario_read() does; returns -1. */
int chio__scenario_bad_at(reader *rd, const char *path, const char *problem);

#endif
