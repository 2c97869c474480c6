/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_b64.h - base64url decoding for the services.
 */
#ifndef CHIO_SVC_B64_H
#define CHIO_SVC_B64_H

#include <stddef.h>

/* Decode base64url @in (NUL-terminated; padding optional; '+' and '/' are
 * taken too) into a malloc'd, NUL-terminated text of *@outlen bytes. NULL
 * on a character outside the alphabet, a stray last character, or no
 * memory. The caller frees it. */
char *svc_b64url_decode(const char *in, size_t *outlen);

#endif
