/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/leaf_host_prog.h - private to the program model: the readings
 * of leaf_host_prog_words.c (the program-name matcher, a segment's
 * command word, the hidden-command readings) that the command-segment
 * splitter of leaf_host_prog.c calls. Each is described where it is
 * defined.
 */
#ifndef CHIO_KERNEL_LEAF_HOST_PROG_H
#define CHIO_KERNEL_LEAF_HOST_PROG_H

#include <stddef.h>

#include "constraint_domain.h"

int chio__prog_blank(unsigned char c);
int chio__prog_command_bits(const char *s, size_t a, size_t e, size_t *ca, size_t *cb);
int chio__prog_defines_name(const char *s, size_t a, size_t b, size_t e);
int chio__prog_unknowable_at(chio__segs *g, const char *s, size_t i, size_t e);
int chio__prog_group_hides_name(chio__segs *g, const char *s, size_t i, size_t e);
int chio__prog_hidden_command_at(const char *s, size_t i, size_t e, char q);
int chio__prog_script_option(const char *s, size_t a, size_t b);
int chio__prog_runs_built_name(const char *s, size_t a, size_t e);

#endif
