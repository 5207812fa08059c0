/* warden — lowercase hex encoding/decoding shared by every module. */
#ifndef WARD_COMMON_HEX_H
#define WARD_COMMON_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write 2*n lowercase hex digits and a NUL to out (which holds at least 2*n+1 bytes). */
void ward_hex_encode(const uint8_t *in, size_t n, char *out);

/*
 * Decode exactly 2*n hex digits (either case) from the NUL-terminated string in into
 * out[n]. Returns false if in is not exactly 2*n hex digits.
 */
bool ward_hex_decode(const char *in, uint8_t *out, size_t n);

#endif
