/*
 * json_number.h - doubles as JSON numbers that are both exact and readable.
 *
 * json-c prints doubles with a fixed precision: either too few digits to
 * read back the same value, or so many that 0.1 shows as
 * 0.10000000000000001.  Here each double is printed with the fewest
 * significant digits (up to 17) that parse back to exactly the same value.
 */
#ifndef PGA_CORE_JSON_NUMBER_H
#define PGA_CORE_JSON_NUMBER_H

#include <json.h>

/*
 * json_number_new_double - a json-c double object for a finite `value`
 * that serializes as its shortest exact decimal form.  Returns NULL when
 * out of memory.  Caller owns the object.
 */
json_object *json_number_new_double(double value);

#endif
