/*
 * mask.h - literals out of SQL text and log messages, so that statements
 * and error messages can be grouped and reported without the data in them.
 */
#ifndef PGLOG_MASK_H
#define PGLOG_MASK_H

#include <stddef.h>

/*
 * mask_literals - copy in[0..len) to out with every string constant
 * ('...', E'...', $tag$...$tag$) and every number that is not part of a
 * name replaced by "?", runs of whitespace folded to one space.  out
 * needs room for len + 1 bytes (masking never lengthens); it is
 * NUL-terminated.  Returns the length written.
 */
size_t mask_literals(const char *in, size_t len, char *out);

#endif
