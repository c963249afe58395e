#include "json_number.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Shortest %.*g text of value that strtod() turns back into value.  %g
 * drops trailing zeros, so 15 digits already give "0.1" for 0.1; only
 * values that need more precision take a second or third try.
 */
size_t json_number_format(double value, char out[JSON_NUMBER_MAX_LEN])
{
	size_t len;

	for (int digits = 15; digits <= 17; digits++) {
		snprintf(out, JSON_NUMBER_MAX_LEN, "%.*g", digits, value);
		if (strtod(out, NULL) == value)
			break;
	}
	len = strlen(out);
	/* JSON readers keep the type apparent: 3 reads as an integer, 3.0 not. */
	if (!strpbrk(out, ".eEn")) {
		memcpy(out + len, ".0", 3);
		len += 2;
	}
	return len;
}

json_object *json_number_new_double(double value)
{
	char text[JSON_NUMBER_MAX_LEN];

	json_number_format(value, text);
	return json_object_new_double_s(value, text);
}
