#include "json_number.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Shortest %.*g text of value that strtod() turns back into value.  %g
 * drops trailing zeros, so 15 digits already give "0.1" for 0.1; only
 * values that need more precision take a second or third try.
 */
static void shortest_text(double value, char *out, size_t size)
{
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(out, size, "%.*g", digits, value);
		if (strtod(out, NULL) == value)
			break;
	}
	/* JSON readers keep the type apparent: 3 reads as an integer, 3.0 not. */
	if (!strpbrk(out, ".eEn"))
		strncat(out, ".0", size - strlen(out) - 1);
}

json_object *json_number_new_double(double value)
{
	char text[40];

	shortest_text(value, text, sizeof(text));
	return json_object_new_double_s(value, text);
}
