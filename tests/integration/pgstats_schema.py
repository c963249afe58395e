"""The pg_stats record schema (docs/PAYLOAD.md, section 2.2) as data, and a
checker the pgstats tests run on every PostgreSQL version.

A member or field with a version range must be present on the versions in
that range and absent (not zero, not null) on the others."""

from harness import check

ANY = object()
INT = int
NUM = (int, float)
STR = str
BOOL = bool
OPT = None          # the value may also be null

# member: (shape, first version, last version or None, {field: type})
# shape: "object" (an object, or null when the view has no row), "rows"
# (array of objects).  Types: a Python type or tuple; (type, OPT) allows null.
INSTANCE_MEMBERS = {
    "instance": ("object", 13, None, {
        "server_version": STR, "server_version_num": INT, "uptime_s": NUM,
        "in_recovery": BOOL, "max_connections": INT, "wal_lsn": STR,
        "wal_lsn_bytes": INT, "role": STR, "superuser": BOOL, "pg_monitor": BOOL}),
    "databases": ("rows", 13, None, {
        "datid": INT, "datname": STR, "numbackends": INT, "xact_commit": INT,
        "blks_read": INT, "deadlocks": INT, "confl_lock": INT,
        "xid_age": INT, "mxid_age": INT}),
    "database_sizes": ("rows", 13, None, {"datname": STR, "size_bytes": (INT, OPT)}),
    "connections": ("rows", 13, None, {"backend_type": STR, "count": INT}),
    "activity": ("object", 13, None, {
        "client_backends": INT, "active": INT, "idle_in_transaction": INT,
        "waiting_for_lock": INT, "oldest_xact_age_s": (NUM, OPT),
        "oldest_query_age_s": (NUM, OPT), "oldest_idle_in_xact_age_s": (NUM, OPT)}),
    "locks": ("rows", 13, None, {"mode": STR, "granted": INT, "waiting": INT}),
    "blocking": ("rows", 13, None, {"pid": INT, "blocking_pid": INT, "waiting_s": (NUM, OPT)}),
    "bgwriter": ("object", 13, None, {
        "buffers_clean": INT, "maxwritten_clean": INT, "buffers_alloc": INT}),
    "checkpointer": ("object", 13, None, {
        "checkpoints_timed": INT, "checkpoints_req": INT, "checkpoint_write_time": NUM,
        "checkpoint_sync_time": NUM, "buffers_checkpoint": INT}),
    "wal": ("object", 14, None, {"wal_records": INT, "wal_fpi": INT, "wal_bytes": INT}),
    "io": ("rows", 16, None, {"backend_type": STR, "object": STR, "context": STR}),
    "archiver": ("object", 13, None, {"archived_count": INT, "failed_count": INT}),
    "replication": ("rows", 13, None, {}),
    "replication_slots": ("rows", 13, None, {}),
    "replication_slot_stats": ("rows", 14, None, {}),
    "wal_receiver": ("object", 13, None, {}),
    "subscriptions": ("rows", 13, None, {}),
    "subscription_stats": ("rows", 15, None, {}),
    "xmin_holders": ("rows", 13, None, {"kind": STR, "holder": STR}),
    "vacuum_progress": ("rows", 13, None, {}),
}

# Fields that only some versions have: (member, field, first, last or None).
VERSIONED_FIELDS = [
    ("databases", "sessions", 14, None),
    ("databases", "session_time", 14, None),
    ("databases", "confl_active_logicalslot", 16, None),
    ("databases", "parallel_workers_launched", 18, None),
    ("bgwriter", "buffers_backend", 13, 16),
    ("bgwriter", "buffers_backend_fsync", 13, 16),
    ("checkpointer", "restartpoints_timed", 17, None),
    ("checkpointer", "checkpoints_done", 18, None),
    ("wal", "wal_write", 14, 17),
    ("io", "op_bytes", 16, 17),
    ("io", "read_bytes", 18, None),
]

# Columns of the per-database sections: (section, column, first, last or None).
VERSIONED_COLUMNS = [
    ("tables", "n_ins_since_vacuum", 13, None),
    ("tables", "last_seq_scan", 16, None),
    ("tables", "n_tup_newpage_upd", 16, None),
    ("tables", "total_vacuum_time", 18, None),
    ("indexes", "last_idx_scan", 16, None),
]

TABLE_COLUMNS = ["relid", "schemaname", "relname", "seq_scan", "idx_scan", "n_tup_ins",
                 "n_live_tup", "n_dead_tup", "heap_blks_read", "heap_blks_hit"]
INDEX_COLUMNS = ["relid", "indexrelid", "indexrelname", "idx_scan", "idx_blks_hit",
                 "is_unique", "is_primary", "is_valid", "unused"]
SIZE_COLUMNS = ["relid", "size_skipped", "heap_bytes", "toast_bytes", "indexes_bytes",
                "total_bytes"]
INDEX_SIZE_COLUMNS = ["indexrelid", "size_skipped", "size_bytes"]
FUNCTION_COLUMNS = ["funcid", "funcname", "calls", "total_time", "self_time"]


def in_range(version, first, last):
    return version >= first and (last is None or version <= last)


def check_type(where, value, expected):
    if isinstance(expected, tuple) and OPT in expected:
        if value is None:
            return
        expected = tuple(t for t in expected if t is not OPT)
        expected = expected[0] if len(expected) == 1 else expected
    # bool is an int in Python: an int field must not be a bool.
    wrong_bool = isinstance(value, bool) and expected is not BOOL
    check(isinstance(value, expected) and not wrong_bool,
          "%s = %r is not of type %r" % (where, value, expected))


def check_fields(where, obj, fields):
    for field, expected in fields.items():
        check(field in obj, "%s: field %r missing (has %s)" % (where, field, sorted(obj)))
        check_type("%s.%s" % (where, field), obj[field], expected)


def member_objects(record, name):
    value = record[name]
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def check_instance_record(record, version):
    """Every member of the instance record against the schema for `version`."""
    check(record.get("scope") == "instance", "scope %r" % record.get("scope"))
    check("errors" not in record, "statements failed on PostgreSQL %d: %r"
          % (version, record.get("errors")))
    for name, (shape, first, last, fields) in INSTANCE_MEMBERS.items():
        if not in_range(version, first, last):
            check(name not in record, "PostgreSQL %d has no %s, but the record has it"
                  % (version, name))
            continue
        check(name in record, "member %r missing on PostgreSQL %d" % (name, version))
        value = record[name]
        if shape == "rows":
            check(isinstance(value, list), "%s is not an array: %r" % (name, value))
        else:
            check(value is None or isinstance(value, dict), "%s is not an object" % name)
        for i, obj in enumerate(member_objects(record, name)):
            check_fields("%s[%d]" % (name, i), obj, fields)
    for name, field, first, last in VERSIONED_FIELDS:
        if name not in record:
            continue
        for obj in member_objects(record, name):
            present = field in obj
            check(present == in_range(version, first, last),
                  "PostgreSQL %d: %s.%s is %s" % (version, name, field,
                                                  "present" if present else "absent"))


def chunk_records(payload, datname, section):
    """The records of one section of one database, in chunk order."""
    found = [r for r in payload["metrics"] if r["type"] == "pg_stats"
             and r.get("scope") == section and r.get("database") == datname]
    check([r["chunk"] for r in found] == list(range(len(found))),
          "%s of %s: chunks %r are not 0, 1, 2..." % (section, datname,
                                                      [r["chunk"] for r in found]))
    return found


def section_columns(payload, datname, section):
    chunks = chunk_records(payload, datname, section)
    check(chunks, "no %s record for database %s" % (section, datname))
    return chunks[0]["columns"]


def section_rows(payload, datname, section):
    """The rows of a section as dicts keyed by column, across its chunks."""
    return [dict(zip(chunk["columns"], row))
            for chunk in chunk_records(payload, datname, section) for row in chunk["rows"]]


def database_summary(payload, datname):
    found = [r for r in payload["metrics"] if r["type"] == "pg_stats"
             and r.get("scope") == "database" and r.get("database") == datname]
    check(len(found) == 1, "expected one summary record of database %s, got %d"
          % (datname, len(found)))
    return found[0]


SECTIONS = {"tables": TABLE_COLUMNS, "indexes": INDEX_COLUMNS, "functions": FUNCTION_COLUMNS,
            "table_sizes": SIZE_COLUMNS, "index_sizes": INDEX_SIZE_COLUMNS}


def check_database_records(payload, datname, version, sizes=True):
    """The records of one database against the schema for `version`: the
    summary, and the chunks of every section it reports (sizes only when
    `sizes`, i.e. on a cycle where they were due)."""
    summary = database_summary(payload, datname)
    check("errors" not in summary, "statements failed: %r" % summary.get("errors"))
    for section, required in SECTIONS.items():
        if section.endswith("_sizes") and not sizes:
            check(section not in summary, "%s reported although not due" % section)
            continue
        info = summary[section]
        chunks = chunk_records(payload, datname, section)
        check(info["complete"] is True and info["records"] == len(chunks)
              and info["count"] == sum(len(c["rows"]) for c in chunks),
              "%s summary %r does not match its %d records" % (section, info, len(chunks)))
        check(("truncated" in info) != section.endswith("_sizes")
              and ("size_skipped" in info) == section.endswith("_sizes"),
              "%s summary members: %r" % (section, info))
        for chunk in chunks:
            check(len(chunk["rows"]) <= 10000, "a chunk of %d rows" % len(chunk["rows"]))
            for column in required:
                check(column in chunk["columns"], "%s: column %r missing" % (section, column))
            for row in chunk["rows"]:
                check(len(row) == len(chunk["columns"]), "%s: a row of %d values for %d "
                      "columns" % (section, len(row), len(chunk["columns"])))
    for section, column, first, last in VERSIONED_COLUMNS:
        if not chunk_records(payload, datname, section):
            continue
        present = column in section_columns(payload, datname, section)
        check(present == in_range(version, first, last),
              "PostgreSQL %d: %s column %s is %s" % (version, section, column,
                                                    "present" if present else "absent"))
