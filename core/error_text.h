/*
 * error_text.h - the caller's error buffer (char *err, size_t err_len):
 * how every core function that can fail hands back its message.
 */
#ifndef PGA_CORE_ERROR_TEXT_H
#define PGA_CORE_ERROR_TEXT_H

#include <stddef.h>

/*
 * error_set - printf into err[0..err_len), truncating; a NULL err or a 0
 * err_len writes nothing.  Returns -1, so that `return error_set(...)`
 * reports the failure in one statement.
 */
int error_set(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
