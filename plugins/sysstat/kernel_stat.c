#include "kernel_stat.h"

#include <stdlib.h>
#include <string.h>

/* "cpu" is the total; "cpuN" one CPU.  False for anything else. */
static bool cpu_label(struct text_span label, bool *total, uint32_t *cpu)
{
	uint64_t n;

	if (label.len < 3 || memcmp(label.s, "cpu", 3) != 0)
		return false;
	if (label.len == 3) {
		*total = true;
		return true;
	}
	if (!text_u64((struct text_span){ label.s + 3, label.len - 3 }, &n) ||
	    n >= KERNEL_STAT_MAX_CPUS)
		return false;
	*total = false;
	*cpu = (uint32_t)n;
	return true;
}

/* The columns after the label: at least user, nice, system and idle. */
static bool cpu_columns(const struct text_span *fields, size_t n_fields, struct cpu_times *out,
			unsigned line, struct parse_error *err)
{
	size_t n = n_fields - 1 < CPU_FIELDS ? n_fields - 1 : CPU_FIELDS;

	if (n < CPU_IOWAIT) {
		parse_error_set(err, line, &fields[0],
				"a cpu line needs at least 4 columns");
		return false;
	}
	memset(out->ticks, 0, sizeof(out->ticks));
	for (size_t i = 0; i < n; i++) {
		if (!text_u64(fields[i + 1], &out->ticks[i])) {
			parse_error_set(err, line, &fields[i + 1],
					"not an unsigned integer");
			return false;
		}
	}
	return true;
}

static bool push_cpu(struct kernel_stat *st, const struct cpu_times *t)
{
	if (st->n_cpus == st->cap_cpus) {
		size_t cap = st->cap_cpus ? st->cap_cpus * 2 : 16;
		struct cpu_times *grown = realloc(st->cpus, cap * sizeof(*grown));

		if (grown == NULL)
			return false;
		st->cpus = grown;
		st->cap_cpus = cap;
	}
	st->cpus[st->n_cpus++] = *t;
	return true;
}

/* A CPU must appear once; the file lists them in ascending order. */
static bool cpu_is_new(const struct kernel_stat *st, uint32_t cpu)
{
	return st->n_cpus == 0 || st->cpus[st->n_cpus - 1].cpu < cpu;
}

static bool parse_cpu_line(struct kernel_stat *st, const struct text_span *fields,
			   size_t n_fields, unsigned line, struct parse_error *err)
{
	struct cpu_times t = { 0 };
	bool total;

	if (!cpu_label(fields[0], &total, &t.cpu)) {
		parse_error_set(err, line, &fields[0], "not a cpu label");
		return true;
	}
	if (!cpu_columns(fields, n_fields, &t, line, err))
		return true;
	if (total) {
		st->total = t;
		st->has_total = true;
		return true;
	}
	if (!cpu_is_new(st, t.cpu)) {
		parse_error_set(err, line, &fields[0],
				"CPU listed out of order or twice");
		return true;
	}
	if (st->n_cpus >= KERNEL_STAT_MAX_CPUS) {
		parse_error_set(err, line, NULL, "too many CPUs");
		return true;
	}
	return push_cpu(st, &t);
}

/* One "name value" line; `value` and `present` are set when it parses. */
static void parse_counter_line(const struct text_span *fields, size_t n_fields, uint64_t *value,
			       bool *present, unsigned line, struct parse_error *err)
{
	if (n_fields != 2 || !text_u64(fields[1], value)) {
		parse_error_set(err, line, &fields[0],
				"expected one unsigned integer after the name");
		return;
	}
	*present = true;
}

bool kernel_stat_parse(const char *text, size_t len, struct kernel_stat *st,
		       struct parse_error *err)
{
	struct text_cursor c;
	struct text_span line, fields[CPU_FIELDS + 1];

	st->n_cpus = 0;
	st->has_total = st->has_ctxt = st->has_processes = false;
	st->has_running = st->has_blocked = false;
	text_cursor_init(&c, text, len);
	while (text_next_line(&c, &line)) {
		size_t n = text_split(line, fields, CPU_FIELDS + 1);
		size_t stored = n < CPU_FIELDS + 1 ? n : CPU_FIELDS + 1;

		if (n == 0)
			continue;
		if (fields[0].len >= 3 && memcmp(fields[0].s, "cpu", 3) == 0) {
			if (!parse_cpu_line(st, fields, stored, c.line, err))
				return false;
		} else if (text_is(fields[0], "ctxt")) {
			parse_counter_line(fields, n, &st->ctxt, &st->has_ctxt, c.line, err);
		} else if (text_is(fields[0], "processes")) {
			parse_counter_line(fields, n, &st->processes, &st->has_processes, c.line, err);
		} else if (text_is(fields[0], "procs_running")) {
			parse_counter_line(fields, n, &st->procs_running, &st->has_running, c.line, err);
		} else if (text_is(fields[0], "procs_blocked")) {
			parse_counter_line(fields, n, &st->procs_blocked, &st->has_blocked, c.line, err);
		}
		/* intr, softirq, btime...: not reported. */
	}
	return true;
}

void kernel_stat_free(struct kernel_stat *st)
{
	free(st->cpus);
	st->cpus = NULL;
	st->n_cpus = st->cap_cpus = 0;
}

/* The ticks of the interval; guest time is inside user and nice, so not added twice. */
static uint64_t interval_ticks(const uint64_t *delta)
{
	uint64_t sum = 0;

	for (int i = 0; i < CPU_GUEST; i++) {
		if (delta[i] > UINT64_MAX - sum)
			return 0;   /* only a corrupt file gets here; 0 means "no rate" */
		sum += delta[i];
	}
	return sum;
}

/*
 * Guest time is part of user (guest_nice of nice) time: take it out of it.
 * The two are sampled separately, so guest may be a tick ahead; it is then
 * cut to the user time, which keeps every share within 0..100.
 */
static void split_guest_time(uint64_t *delta, int host_field, int guest_field)
{
	if (delta[guest_field] > delta[host_field])
		delta[guest_field] = delta[host_field];
	delta[host_field] -= delta[guest_field];
}

bool cpu_percent_between(const struct cpu_times *before, const struct cpu_times *after,
			 struct cpu_percent *out)
{
	uint64_t delta[CPU_FIELDS], total;

	for (int i = 0; i < CPU_FIELDS; i++) {
		if (after->ticks[i] < before->ticks[i])
			return false;
		delta[i] = after->ticks[i] - before->ticks[i];
	}
	total = interval_ticks(delta);
	/* Sums of ticks stay far below 2^53 for centuries: the division is exact enough. */
	if (total == 0)
		return false;
	split_guest_time(delta, CPU_USER, CPU_GUEST);
	split_guest_time(delta, CPU_NICE, CPU_GUEST_NICE);
	for (int i = 0; i < CPU_FIELDS; i++)
		out->pct[i] = 100.0 * (double)delta[i] / (double)total;
	return true;
}

const struct cpu_times *cpu_find(const struct kernel_stat *st, uint32_t cpu)
{
	size_t lo = 0, hi = st->n_cpus;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->cpus[mid].cpu == cpu)
			return &st->cpus[mid];
		if (st->cpus[mid].cpu < cpu)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool cpu_sets_equal(const struct kernel_stat *a, const struct kernel_stat *b)
{
	if (a->n_cpus != b->n_cpus)
		return false;
	for (size_t i = 0; i < a->n_cpus; i++)
		if (a->cpus[i].cpu != b->cpus[i].cpu)
			return false;
	return true;
}
