/*
 * stderr_capture.h - read back what the code under test logged: stderr is
 * redirected to a temporary file between capture_start() and capture_end().
 */
#ifndef PGA_TEST_STDERR_CAPTURE_H
#define PGA_TEST_STDERR_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int capture_saved_fd = -1;
static FILE *capture_file;

static void capture_start(void)
{
	fflush(stderr);
	capture_file = tmpfile();
	capture_saved_fd = dup(STDERR_FILENO);
	dup2(fileno(capture_file), STDERR_FILENO);
}

/* Returns everything written to stderr since capture_start(); caller frees. */
static char *capture_end(void)
{
	long size;
	char *text;

	fflush(stderr);
	dup2(capture_saved_fd, STDERR_FILENO);
	close(capture_saved_fd);
	size = ftell(capture_file);
	text = calloc(1, (size_t)size + 1);
	rewind(capture_file);
	if (text && size > 0 && fread(text, 1, (size_t)size, capture_file) != (size_t)size)
		text[0] = '\0';
	fclose(capture_file);
	return text;
}

/* Number of times needle occurs in haystack. */
static int count_occurrences(const char *haystack, const char *needle)
{
	int n = 0;

	for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

#endif
