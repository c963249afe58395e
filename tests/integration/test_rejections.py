"""Each way a plugin can be refused: one precise error line
`plugin "NAME" (PATH): WHAT; DETAIL; HINT`, and only that plugin skipped."""

from harness import check, check_rejected, lines_containing, records


def run_with_bystander(case, plugins):
    """--once with `plugins` plus the well-behaved `second`; checks that
    second still delivered.  Returns (result, payload)."""
    plugins = dict(plugins)
    plugins["second"] = {}
    result, payload = case.once(plugins)
    check(len(records(payload, "test_second")) == 1,
          "the well-behaved plugin's record is missing: %s\n%s"
          % (payload["metrics"], result.stderr))
    return result, payload


def check_refused_alone(case, name, what):
    """Configure test plugin `name`; it must be refused with `what`."""
    result, payload = run_with_bystander(case, {name: {}})
    detail, hint = check_rejected(result.stderr, name,
                                  case.env.plugin_path(name), what)
    check(all(m["plugin"] != name for m in payload["metrics"]
              if m["type"] != "collector"),
          "the refused plugin %s emitted records" % name)
    return detail, hint


def test_cannot_be_loaded_names_dlerror_and_suggests_ldd(case):
    path = case.env.plugin_path("needs_missing_lib")
    detail, hint = check_refused_alone(case, "needs_missing_lib",
                                       "cannot be loaded")
    check("libpga_vanished.so" in detail,
          "detail should carry dlerror() naming the missing library: %r"
          % detail)
    check("ldd " + path in hint, "hint should suggest `ldd %s`: %r"
          % (path, hint))


def test_not_a_pganalytics_plugin(case):
    check_refused_alone(case, "no_entry", "not a pganalytics plugin")


def test_abi_major_mismatch_for_a_v2_only_entry(case):
    check_refused_alone(case, "abi_v2", "ABI major mismatch")


def test_abi_major_mismatch_in_a_v1_descriptor(case):
    check_refused_alone(case, "abi_major_mismatch", "ABI major mismatch")


def test_newer_minor_with_nonzero_tail(case):
    check_refused_alone(case, "newer_minor_tail", "built against a newer ABI")


def test_descriptor_too_small(case):
    check_refused_alone(case, "too_small", "descriptor too small")


def test_descriptor_without_name_is_incomplete(case):
    check_refused_alone(case, "no_name", "descriptor incomplete")


def test_descriptor_without_collect_is_incomplete(case):
    check_refused_alone(case, "no_collect", "descriptor incomplete")


def test_invalid_name(case):
    check_refused_alone(case, "bad_name", "invalid name")


def test_invalid_option_table(case):
    check_refused_alone(case, "bad_options", "invalid option table")


def test_name_mismatch(case):
    path = case.env.plugin_path("good")
    result, payload = run_with_bystander(case, {"other": {"path": path}})
    check_rejected(result.stderr, "other", path, "name mismatch")
    check(not records(payload, "test_good"),
          "the mismatched plugin ran: %s" % records(payload, "test_good"))


def test_duplicate_name(case):
    result, payload = run_with_bystander(case, {"dup_one": {},
                                                "dup_copy": {}})
    hits = lines_containing(result.stderr, "): duplicate name; ")
    check(len(hits) == 1, "expected one duplicate name error, got:\n%s"
          % (result.stderr))
    refused = "dup_copy" if 'plugin "dup_copy"' in hits[0] else "dup_one"
    kept = "dup_one" if refused == "dup_copy" else "dup_copy"
    check_rejected(result.stderr, refused, case.env.plugin_path(refused),
                   "duplicate name")
    dups = records(payload, "test_dup")
    check([r["file"] for r in dups] == [kept + ".so"],
          "expected one record from %s.so only, got %s" % (kept, dups))
