/*
 * json_number.h - doubles as JSON numbers that are both exact and readable.
 *
 * json-c prints doubles with a fixed precision: either too few digits to
 * read back the same value, or so many that 0.1 shows as
 * 0.10000000000000001.  Here each double is printed with the fewest
 * significant digits (up to 17) that parse back to exactly the same value.
 * The emitter writes record text with json_number_format(); the collector
 * record, still built with json-c, uses json_number_new_double(): both give
 * the same text for the same value.
 */
#ifndef PGA_CORE_JSON_NUMBER_H
#define PGA_CORE_JSON_NUMBER_H

#include <stddef.h>

#include <json.h>

/* Room for the longest text json_number_format() writes, NUL included. */
#define JSON_NUMBER_MAX_LEN 40

/*
 * json_number_format - write the shortest exact decimal text of the finite
 * `value` into out (NUL-terminated), e.g. "0.1", "3.0", "1e+300",
 * "0.30000000000000004".  The text always holds a '.' or an exponent, so
 * that a reader can tell it from an integer.  Returns its length.
 */
size_t json_number_format(double value, char out[JSON_NUMBER_MAX_LEN]);

/*
 * json_number_new_double - a json-c double object for a finite `value`
 * that serializes as json_number_format() writes it.  Returns NULL when
 * out of memory.  Caller owns the object.
 */
json_object *json_number_new_double(double value);

#endif
