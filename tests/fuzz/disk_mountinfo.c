/*
 * disk_mountinfo - libFuzzer target for the disk plugin's mountinfo parser
 * (plugins/disk/mountinfo.c): whole files, then a lookup of a few paths in
 * what was parsed.  The parser works in place, so the input is copied into
 * a buffer with the one spare byte its contract asks for.  Every entry it
 * returns must hold NUL-terminated strings and an absolute mount point.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every string of every entry, so that ASan sees one not NUL-terminated. */
static void check_entries(const struct mount_table *table)
{
	size_t total = 0;

	for (size_t i = 0; i < table->count; i++) {
		const struct mount_entry *e = &table->entries[i];

		if (e->mount_point[0] != '/')
			abort();
		total += strlen(e->root) + strlen(e->fstype) + strlen(e->source) +
			 strlen(e->mount_point);
	}
	if (table->count + table->bad_lines != table->lines || total == SIZE_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "/", "/var/lib/postgresql", "/a b", "/mnt/x/y" };
	struct mount_table table = { 0 };
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	if (mountinfo_parse(text, size, &table) == 0) {
		check_entries(&table);
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			const struct mount_entry *m = mount_table_find(&table, paths[i]);

			if (m && strncmp(m->mount_point, paths[i], strlen(m->mount_point)) != 0)
				abort();
		}
	}
	mount_table_free(&table);
	free(text);
	return 0;
}
