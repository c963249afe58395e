/*
 * instance_sql.c - the text of the instance-level statements (see
 * instance_sql.h).  Every statement must run unchanged on each version in
 * its range; the tests run all of them on PostgreSQL 13 to 18.
 */
#include "instance_sql.h"

/* The LSN this server is at: written on a primary, received or replayed on a standby. */
#define CURRENT_LSN \
	"CASE WHEN pg_is_in_recovery() " \
	"THEN coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) " \
	"ELSE pg_current_wal_lsn() END"

#define SECONDS_SINCE(ts) "extract(epoch FROM now() - " ts ")::float8"

#define DATABASES_SQL(conflicts) \
	QUERY_TAG "SELECT d.*, c.confl_tablespace, c.confl_lock, c.confl_snapshot, " \
	"c.confl_bufferpin, c.confl_deadlock" conflicts ", " \
	"age(db.datfrozenxid) AS xid_age, mxid_age(db.datminmxid) AS mxid_age " \
	"FROM pg_stat_database d JOIN pg_stat_database_conflicts c USING (datid) " \
	"JOIN pg_database db ON db.oid = d.datid " \
	"WHERE d.datname IS NOT NULL ORDER BY d.datname"

#define CHECKPOINTER_17_SQL(extra) \
	QUERY_TAG "SELECT num_timed AS checkpoints_timed, num_requested AS checkpoints_req, " \
	extra "write_time AS checkpoint_write_time, sync_time AS checkpoint_sync_time, " \
	"buffers_written AS buffers_checkpoint, restartpoints_timed, restartpoints_req, " \
	"restartpoints_done, stats_reset FROM pg_stat_checkpointer"

const struct instance_part instance_parts[] = {
	{ "instance", 0, 0, SHAPE_OBJECT,
	  QUERY_TAG "SELECT current_setting('server_version') AS server_version, "
	  "current_setting('server_version_num')::int AS server_version_num, "
	  "pg_postmaster_start_time() AS start_time, "
	  SECONDS_SINCE("pg_postmaster_start_time()") " AS uptime_s, "
	  "pg_is_in_recovery() AS in_recovery, "
	  "current_setting('max_connections')::int AS max_connections, "
	  CURRENT_LSN "::text AS wal_lsn, "
	  "pg_wal_lsn_diff(" CURRENT_LSN ", '0/0') AS wal_lsn_bytes, "
	  "current_user AS role, "
	  "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser, "
	  "pg_has_role(current_user, 'pg_monitor', 'USAGE') AS pg_monitor", false },

	{ "databases", 0, 159999, SHAPE_ROWS, DATABASES_SQL(""), false },
	{ "databases", 160000, 0, SHAPE_ROWS, DATABASES_SQL(", c.confl_active_logicalslot"), false },

	/* pg_database_size walks every file of the database: not every cycle. */
	{ "database_sizes", 0, 0, SHAPE_ROWS,
	  QUERY_TAG "SELECT datname, CASE WHEN has_database_privilege(oid, 'CONNECT') "
	  "THEN pg_database_size(oid) END AS size_bytes FROM pg_database ORDER BY datname", true },

	{ "connections", 0, 0, SHAPE_ROWS,
	  QUERY_TAG "SELECT backend_type, state, wait_event_type, wait_event, count(*) AS count "
	  "FROM pg_stat_activity GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4", false },

	{ "activity", 0, 0, SHAPE_OBJECT,
	  QUERY_TAG "SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS client_backends, "
	  "count(*) FILTER (WHERE state = 'active' AND backend_type = 'client backend') AS active, "
	  "count(*) FILTER (WHERE state LIKE 'idle in transaction%') AS idle_in_transaction, "
	  "count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting_for_lock, "
	  "max(" SECONDS_SINCE("xact_start") ") AS oldest_xact_age_s, "
	  "max(" SECONDS_SINCE("query_start") ") FILTER (WHERE state = 'active' "
	  "AND backend_type = 'client backend') AS oldest_query_age_s, "
	  "max(" SECONDS_SINCE("state_change") ") FILTER (WHERE state LIKE 'idle in transaction%') "
	  "AS oldest_idle_in_xact_age_s "
	  "FROM pg_stat_activity WHERE pid <> pg_backend_pid()", false },

	{ "locks", 0, 0, SHAPE_ROWS,
	  QUERY_TAG "SELECT mode, count(*) FILTER (WHERE granted) AS granted, "
	  "count(*) FILTER (WHERE NOT granted) AS waiting FROM pg_locks GROUP BY mode ORDER BY mode", false },

	/* Who waits for whom; pg_blocking_pids only for sessions waiting on a lock. */
	{ "blocking", 0, 0, SHAPE_ROWS,
	  QUERY_TAG "SELECT w.pid, bp.pid AS blocking_pid, w.datname, w.usename, w.wait_event, "
	  SECONDS_SINCE("w.state_change") " AS waiting_s, b.state AS blocking_state, "
	  SECONDS_SINCE("b.xact_start") " AS blocking_xact_age_s "
	  "FROM pg_stat_activity w CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS bp(pid) "
	  "LEFT JOIN pg_stat_activity b ON b.pid = bp.pid "
	  "WHERE w.wait_event_type = 'Lock' ORDER BY waiting_s DESC, 1, 2 LIMIT 200", false },

	{ "bgwriter", 0, 169999, SHAPE_OBJECT,
	  QUERY_TAG "SELECT buffers_clean, maxwritten_clean, buffers_alloc, buffers_backend, "
	  "buffers_backend_fsync, stats_reset FROM pg_stat_bgwriter", false },
	{ "bgwriter", 170000, 0, SHAPE_OBJECT, QUERY_TAG "SELECT * FROM pg_stat_bgwriter", false },

	{ "checkpointer", 0, 169999, SHAPE_OBJECT,
	  QUERY_TAG "SELECT checkpoints_timed, checkpoints_req, checkpoint_write_time, "
	  "checkpoint_sync_time, buffers_checkpoint, stats_reset FROM pg_stat_bgwriter", false },
	{ "checkpointer", 170000, 179999, SHAPE_OBJECT, CHECKPOINTER_17_SQL(""), false },
	{ "checkpointer", 180000, 0, SHAPE_OBJECT,
	  CHECKPOINTER_17_SQL("num_done AS checkpoints_done, slru_written, "), false },

	{ "wal", 140000, 0, SHAPE_OBJECT, QUERY_TAG "SELECT * FROM pg_stat_wal", false },

	{ "io", 160000, 0, SHAPE_ROWS,
	  QUERY_TAG "SELECT * FROM pg_stat_io ORDER BY backend_type, object, context", false },

	{ "archiver", 0, 0, SHAPE_OBJECT, QUERY_TAG "SELECT * FROM pg_stat_archiver", false },

	{ "replication", 0, 0, SHAPE_ROWS,
	  QUERY_TAG "SELECT r.pid, r.usename, r.application_name, r.client_addr, r.state, "
	  "r.sync_state, r.sync_priority, r.sent_lsn, r.write_lsn, r.flush_lsn, r.replay_lsn, "
	  "pg_wal_lsn_diff(pos.lsn, r.sent_lsn) AS sent_lag_bytes, "
	  "pg_wal_lsn_diff(pos.lsn, r.write_lsn) AS write_lag_bytes, "
	  "pg_wal_lsn_diff(pos.lsn, r.flush_lsn) AS flush_lag_bytes, "
	  "pg_wal_lsn_diff(pos.lsn, r.replay_lsn) AS replay_lag_bytes, "
	  "extract(epoch FROM r.write_lag)::float8 AS write_lag_s, "
	  "extract(epoch FROM r.flush_lag)::float8 AS flush_lag_s, "
	  "extract(epoch FROM r.replay_lag)::float8 AS replay_lag_s, "
	  "r.backend_xmin, r.backend_start, r.reply_time "
	  "FROM pg_stat_replication r, (SELECT " CURRENT_LSN " AS lsn) pos ORDER BY r.pid", false },

	{ "replication_slots", 0, 0, SHAPE_ROWS,
	  QUERY_TAG "SELECT s.*, pg_wal_lsn_diff(pos.lsn, s.restart_lsn) AS retained_bytes, "
	  "age(s.xmin) AS xmin_age, age(s.catalog_xmin) AS catalog_xmin_age "
	  "FROM pg_replication_slots s, (SELECT " CURRENT_LSN " AS lsn) pos ORDER BY s.slot_name", false },

	{ "replication_slot_stats", 140000, 0, SHAPE_ROWS,
	  QUERY_TAG "SELECT * FROM pg_stat_replication_slots ORDER BY slot_name", false },

	/* Not SELECT *: its conninfo column is not ours to ship. */
	{ "wal_receiver", 0, 0, SHAPE_OBJECT,
	  QUERY_TAG "SELECT pid, status, receive_start_lsn, receive_start_tli, written_lsn, "
	  "flushed_lsn, received_tli, last_msg_send_time, last_msg_receipt_time, latest_end_lsn, "
	  "latest_end_time, slot_name, sender_host, sender_port, "
	  SECONDS_SINCE("last_msg_receipt_time") " AS last_msg_age_s FROM pg_stat_wal_receiver", false },

	{ "subscriptions", 0, 0, SHAPE_ROWS,
	  QUERY_TAG "SELECT * FROM pg_stat_subscription ORDER BY subname, relid NULLS FIRST", false },
	{ "subscription_stats", 150000, 0, SHAPE_ROWS,
	  QUERY_TAG "SELECT * FROM pg_stat_subscription_stats ORDER BY subname", false },

	/* What holds back the xmin horizon, oldest first. */
	{ "xmin_holders", 0, 0, SHAPE_ROWS,
	  QUERY_TAG "SELECT * FROM ("
	  "SELECT 'backend' AS kind, pid::text AS holder, datname::text AS database, "
	  "greatest(age(backend_xmin), age(backend_xid)) AS xmin_age, "
	  SECONDS_SINCE("xact_start") " AS age_s FROM pg_stat_activity "
	  "WHERE (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL) AND pid <> pg_backend_pid() "
	  "UNION ALL SELECT 'replication_slot', slot_name::text, database::text, "
	  "greatest(age(xmin), age(catalog_xmin)), NULL FROM pg_replication_slots "
	  "WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL "
	  "UNION ALL SELECT 'prepared_transaction', gid, database::text, age(transaction), "
	  SECONDS_SINCE("prepared") " FROM pg_prepared_xacts"
	  ") h ORDER BY xmin_age DESC NULLS LAST, kind, holder LIMIT 20", false },

	{ "vacuum_progress", 0, 0, SHAPE_ROWS,
	  /* relid names a table only in its own database: elsewhere it would name another. */
	  QUERY_TAG "SELECT p.*, CASE WHEN p.datid = (SELECT oid FROM pg_database "
	  "WHERE datname = current_database()) THEN p.relid::regclass::text END AS relation, "
	  SECONDS_SINCE("a.xact_start") " AS running_s "
	  "FROM pg_stat_progress_vacuum p LEFT JOIN pg_stat_activity a USING (pid) ORDER BY p.pid", false },
};

const char settings_sql[] =
	QUERY_TAG "SELECT name, setting, unit, vartype, context, source, boot_val, reset_val, "
	"pending_restart FROM pg_settings WHERE source NOT IN ('client', 'session') ORDER BY name";

const size_t instance_part_count = sizeof(instance_parts) / sizeof(instance_parts[0]);

_Static_assert(sizeof(instance_parts) / sizeof(instance_parts[0]) <= INSTANCE_MAX_PARTS,
	       "instance.c keeps one bit per statement in a uint64_t, the settings included");
