/*
 * sysstat_parsers - libFuzzer target for the sysstat plugin's /proc
 * parsers.  The first byte picks the file format; the rest is split at the
 * first "\n===\n" (if any) into two readings of that file, both parsed, and
 * the rates between them computed, as two cycles would.  Whatever the
 * input: no crash, no read outside it, and every percentage and
 * utilisation within 0..100.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diskstats.h"
#include "kernel_stat.h"
#include "loadavg.h"
#include "meminfo.h"
#include "netdev.h"
#include "pid_stat.h"
#include "pressure.h"
#include "vmstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int condition)
{
	if (!condition)
		abort();
}

static void check_error(const struct parse_error *err)
{
	require(err->line == 0 || memchr(err->text, '\0', sizeof(err->text)) != NULL);
}

static void fuzz_stat(const char *a, size_t alen, const char *b, size_t blen)
{
	struct kernel_stat s1 = { 0 }, s2 = { 0 };
	struct parse_error err = { 0 };
	struct cpu_percent pct;

	if (kernel_stat_parse(a, alen, &s1, &err) && kernel_stat_parse(b, blen, &s2, &err)) {
		if (s1.has_total && s2.has_total && cpu_percent_between(&s1.total, &s2.total, &pct))
			for (int i = 0; i < CPU_FIELDS; i++)
				require(pct.pct[i] >= 0 && pct.pct[i] <= 100);
		for (size_t i = 0; i < s2.n_cpus; i++) {
			const struct cpu_times *before = cpu_find(&s1, s2.cpus[i].cpu);

			if (before)
				(void)cpu_percent_between(before, &s2.cpus[i], &pct);
		}
		(void)cpu_sets_equal(&s1, &s2);
	}
	check_error(&err);
	kernel_stat_free(&s1);
	kernel_stat_free(&s2);
}

static void fuzz_disks(const char *a, size_t alen, const char *b, size_t blen)
{
	struct disk_list l1 = { 0 }, l2 = { 0 };
	struct parse_error err = { 0 };
	struct disk_rates r;

	if (diskstats_parse(a, alen, &l1, &err) && diskstats_parse(b, blen, &l2, &err)) {
		for (size_t i = 0; i < disk_count(&l2); i++) {
			const struct disk_counters *d = disk_at(&l2, i), *before = disk_find(&l1, d->name);

			require(strlen(d->name) <= DISK_NAME_MAX);
			require(i == 0 || strcmp(disk_at(&l2, i - 1)->name, d->name) < 0);
			(void)disk_kind_of(&l2, d);
			if (before && disk_rates_between(before, d, 1.5, &r))
				require(r.util_pct >= 0 && r.util_pct <= 100 && r.queue_depth >= 0);
		}
	}
	check_error(&err);
	disk_list_free(&l1);
	disk_list_free(&l2);
}

static void fuzz_net(const char *a, size_t alen, const char *b, size_t blen)
{
	struct iface_list l1 = { 0 }, l2 = { 0 };
	struct parse_error err = { 0 };
	double rates[IF_FIELDS];

	if (netdev_parse(a, alen, &l1, &err) && netdev_parse(b, blen, &l2, &err)) {
		for (size_t i = 0; i < iface_count(&l2); i++) {
			const struct iface_counters *iface = iface_at(&l2, i);
			const struct iface_counters *before = iface_find(&l1, iface->name);

			require(i == 0 || strcmp(iface_at(&l2, i - 1)->name, iface->name) < 0);
			if (before && iface_rates_between(before, iface, 2.0, rates))
				for (int f = 0; f < IF_FIELDS; f++)
					require(rates[f] >= 0);
		}
	}
	check_error(&err);
	iface_list_free(&l1);
	iface_list_free(&l2);
}

static void fuzz_small_files(int format, const char *a, size_t alen)
{
	struct parse_error err = { 0 };
	struct meminfo mem;
	struct vmstat vm;
	struct loadavg load;
	struct pressure psi;
	struct pid_stat ps;

	switch (format) {
	case 3:
		meminfo_parse(a, alen, &mem, &err);
		break;
	case 4:
		vmstat_parse(a, alen, &vm, &err);
		break;
	case 5:
		(void)loadavg_parse(a, alen, &load, &err);
		break;
	case 6:
		pressure_parse(a, alen, &psi, &err);
		break;
	default:
		if (pid_stat_parse(a, alen, &ps))
			require(strlen(ps.comm) <= PID_COMM_MAX);
		break;
	}
	check_error(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char separator[] = "\n===\n";
	const char *text, *split;
	size_t len, alen;
	char *copy;
	int format;

	if (size < 1)
		return 0;
	format = data[0] % 8;
	len = size - 1;
	/* An exact-size copy: ASan catches any read past the end. */
	copy = malloc(len ? len : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data + 1, len);
	text = copy;
	split = len >= sizeof(separator) - 1 ? memmem(text, len, separator, sizeof(separator) - 1)
					     : NULL;
	alen = split ? (size_t)(split - text) : len;
	if (format == 0)
		fuzz_stat(text, alen, split ? split + 5 : text, split ? len - alen - 5 : len);
	else if (format == 1)
		fuzz_disks(text, alen, split ? split + 5 : text, split ? len - alen - 5 : len);
	else if (format == 2)
		fuzz_net(text, alen, split ? split + 5 : text, split ? len - alen - 5 : len);
	else
		fuzz_small_files(format, text, len);
	free(copy);
	return 0;
}
