/*
 * statements_texts.h - the query texts of a statements record: which are
 * due, reading them, emitting them as "texts".
 *
 * A text is due when its entry is in this cycle's rows and its text was
 * never sent, or last sent more than statements_text_interval_s ago.  The
 * texts of one record are kept within a byte budget below the emitter's
 * record limit; what does not fit stays due for a later cycle.
 */
#ifndef PGSTATS_STATEMENTS_TEXTS_H
#define PGSTATS_STATEMENTS_TEXTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "statements.h"

/* One text to emit, copied out of its single-row result. */
struct stmt_text {
	struct stmt_key key;
	struct stmt_key_slot *slot;   /* its entry in the key set */
	char *query;                  /* len bytes and a NUL; malloc'd */
	size_t len;
	bool truncated;               /* cut to STMT_TEXT_MAX_BYTES */
};

/* Zero-initialised: empty. */
struct stmt_text_list {
	struct stmt_text *items;
	size_t count;
	size_t capacity;
	size_t bytes;                 /* the items' JSON text, at most */
	bool over_budget;             /* a text did not fit: the rest waits */
};

/*
 * stmt_texts_due - record the first `rows` rows of `counters` (this
 * cycle's entries) in the key set and write to *wanted, malloc'd, the
 * queryids whose texts are due as an int8[] literal ("{1,2}").  Returns
 * how many are due, or -1 when out of memory (*wanted is then NULL).
 */
long stmt_texts_due(struct pgstats *st, const PGresult *counters, int rows, char **wanted);

/*
 * stmt_texts_read - read the texts of the queryids in `wanted` into
 * `list`, streamed row by row (single-row mode) so that only the texts kept
 * are held: those this cycle wants, each at most once, within the budget.
 * A refused statement or a lack of memory is logged and leaves the list as
 * far as it got.  Returns PGA_OK, or PGA_ERROR when the connection failed
 * or could not send the statement: the caller may still report what it
 * has, then closes the connection.
 */
int stmt_texts_read(struct pgstats *st, const char *wanted, struct stmt_text_list *list);

/* stmt_texts_emit - the list as the record's "texts" array (nothing when empty). */
int stmt_texts_emit(const struct pga_host *host, struct pga_emitter *em,
		    const struct stmt_text_list *list);

/* stmt_texts_mark_sent - the record carrying the list was kept: its texts were sent at `now_ns`. */
void stmt_texts_mark_sent(const struct stmt_text_list *list, uint64_t now_ns);

/* stmt_texts_free - free the texts; the list is empty and usable again. */
void stmt_texts_free(struct stmt_text_list *list);

#endif
