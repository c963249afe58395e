/*
 * output.h - where finished payloads go when they are not sent to the
 * backend: standard output or a local file.  This is the seam the HTTPS
 * sender plugs into later, so the interface is kept to open, deliver and
 * close.
 *
 * Destinations:
 *   "-"                  readable (pretty) JSON on standard output, one
 *                        payload followed by a newline, flushed each time;
 *   "file:///abs/path"   one compact JSON payload per line, appended; each
 *                        payload is fsync'ed, and a failed write is cut back
 *                        so that no half line stays in the file;
 *   "file:///abs/p.gz"   the same lines, each written as its own gzip member
 *                        appended to the file (`gzip -dc` yields the lines).
 * The path of a file URL is used as written (no %-decoding).  The file is
 * created with mode 0640 (before umask).  "https://" and "http://" are
 * refused in this build with a message saying so.
 *
 * An output is used by one thread at a time.
 */
#ifndef PGA_CORE_OUTPUT_H
#define PGA_CORE_OUTPUT_H

#include <stddef.h>

#include <json.h>

struct output;

/*
 * output_open - parse `destination` and open it (a file is opened or
 * created now, so a bad path is reported at startup, not at the first push).
 * Returns the output, or NULL with a message naming the destination (and
 * the accepted forms when it is not one of them) in err[0..err_len); err
 * may be NULL.  Close with output_close().
 */
struct output *output_open(const char *destination, char *err, size_t err_len);

/*
 * output_deliver - write one payload.  `envelope` is borrowed (json-c may
 * cache its serialization inside it).  Returns 0 once the payload is
 * written (and, for files, on disk), or -1 with a message naming the
 * destination and the system error in err[0..err_len); after a failure a
 * regular file is cut back to the size it had before the call (the message
 * says so if even that failed).
 */
int output_deliver(struct output *out, json_object *envelope, char *err, size_t err_len);

/* output_close - flush and close `out` and free it.  NULL is allowed. */
void output_close(struct output *out);

#endif
