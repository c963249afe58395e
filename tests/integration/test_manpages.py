"""The manual pages in man/: they render without a single warning, the (8)
page documents every option `--help` prints, and the (5) page every key of
the core's configuration schema (read from core/config.c, not typed here)
with the default core/config.c gives it."""

import glob
import os
import re
import shutil
import subprocess

from harness import TestFailure, check

PAGES = ("pganalytics-collector.8", "pganalytics-collector.conf.5",
         "pganalytics-plugin.3")

# core/config.c: `static cfg_opt_t NAME[] = { CFG_INT("key", ...), ... };`
OPTION_ARRAY_RE = re.compile(r"static cfg_opt_t (\w+)\[\] = \{(.*?)\};", re.S)
OPTION_RE = re.compile(r'CFG_(STR|INT|BOOL|FLOAT|STR_LIST|INT_LIST)\("(\w+)"')
SECTION_RE = re.compile(r'CFG_SEC\("(\w+)", (\w+),')
# set_defaults(): `cfg->collector.push_interval = 60;` and
# `set_default_string(&cfg->collector.state_dir, "/var/lib/pganalytics")`.
INT_DEFAULT_RE = re.compile(r"cfg->(\w+)\.(\w+) = (\d+);")
STRING_DEFAULT_RE = re.compile(r'set_default_string\(&cfg->(\w+)\.(\w+),\s*"([^"]*)"\)')
# The key entries of the (5) page: .BR key " (type, default ...)"
KEY_ENTRY_RE = re.compile(r'^\.BR (\w+) "(?: \((\w+)(?:, default (.*))?\))?"$')
# Section titles of the (5) page, to the schema's section names.
PAGE_SECTIONS = {"collector": "THE COLLECTOR SECTION",
                 "backend": "THE BACKEND SECTION",
                 "plugin": "PLUGIN SECTIONS"}
TYPE_WORDS = {"INT": "integer", "STR": "string", "BOOL": "boolean"}


def page_path(case, name):
    return os.path.join(case.env.source_dir, "man", name)


def read_source(case, *parts):
    with open(os.path.join(case.env.source_dir, *parts), encoding="utf-8") as f:
        return f.read()


def plain(roff_line):
    """A line of roff source as its words read: escapes and quotes gone."""
    text = roff_line.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")
    text = re.sub(r"\\f[BIRP]", "", text)
    return text


def roff_arguments(line):
    """The arguments of a macro line, with roff's quoting ("" is a quote)."""
    args, current, quoted, i = [], "", False, 0
    body = line.split(" ", 1)[1] if " " in line else ""
    while i < len(body):
        c = body[i]
        if quoted and c == '"' and body[i + 1:i + 2] == '"':
            current += '"'
            i += 1
        elif c == '"':
            quoted = not quoted
        elif c == " " and not quoted:
            if current:
                args.append(current)
            current = ""
        else:
            current += c
        i += 1
    if current:
        args.append(current)
    return args


def run_tool(argv):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return done.returncode, (done.stdout + done.stderr).strip()


def test_every_page_renders_without_a_warning(case):
    check(shutil.which("groff"), "groff is missing: install the groff-base package "
          "(tools/install-deps)")
    found = sorted(os.path.basename(p) for p in
                   glob.glob(os.path.join(case.env.source_dir, "man", "*.[1-9]")))
    check(sorted(PAGES) == found, "man/ should hold %s, holds %s" % (sorted(PAGES), found))
    for name in PAGES:
        status, output = run_tool(["groff", "-man", "-Tutf8", "-ww", "-z",
                                   page_path(case, name)])
        check(status == 0 and not output, "groff warns about %s (status %d):\n%s"
              % (name, status, output))
        # mandoc's linter is stricter; it runs wherever it is installed.
        if shutil.which("mandoc"):
            status, output = run_tool(["mandoc", "-Tlint", page_path(case, name)])
            check(status == 0 and not output, "mandoc -Tlint on %s (status %d):\n%s"
                  % (name, status, output))
        status, text = run_tool(["groff", "-man", "-Tutf8", "-P-cbou",
                                 page_path(case, name)])
        check(status == 0 and "NAME" in text and "SEE ALSO" in text,
              "%s does not render to a page with NAME and SEE ALSO" % name)


def option_entries(page_text):
    """The plain text of each .TP entry's first line (the option heads)."""
    lines = page_text.splitlines()
    return [" ".join(roff_arguments(plain(lines[i + 1])))
            for i, line in enumerate(lines[:-1]) if line.startswith(".TP")]


def help_options(case):
    """(short or None, long, argument or None) for each option --help lists."""
    result = case.run("--help", config=False)
    result.check_status(0)
    options = []
    for line in result.stdout.splitlines():
        match = re.match(r"^\s+(?:(-\w), )?(--[\w-]+)(?: ([A-Z.]+))?\s", line)
        if match:
            options.append(match.groups())
    check(len(options) >= 10, "found only %d options in --help:\n%s"
          % (len(options), result.stdout))
    return options


def test_the_8_page_documents_every_option_of_help(case):
    entries = option_entries(read_source(case, "man", "pganalytics-collector.8"))
    for short, long_option, argument in help_options(case):
        heads = [e for e in entries if re.search(r"(^|[ ,])%s($|[ ,])"
                                                 % re.escape(long_option), e)]
        check(heads, "pganalytics-collector(8) has no entry for %s" % long_option)
        head = heads[0]
        for word in filter(None, (short, argument)):
            check(re.search(r"(^|[ ,])%s($|[ ,])" % re.escape(word), head),
                  "the (8) entry of %s should show %r as --help does: %r"
                  % (long_option, word, head))


def core_schema(config_source):
    """{section: {key: TYPE}} from the cfg_opt_t arrays of core/config.c."""
    arrays = {name: [(kind, key) for kind, key in OPTION_RE.findall(body)
                     if not key.startswith("__")]
              for name, body in OPTION_ARRAY_RE.findall(config_source)}
    schema = {}
    for _, body in OPTION_ARRAY_RE.findall(config_source):
        for section, array in SECTION_RE.findall(body):
            check(array in arrays, "CFG_SEC(%r) names an unknown array %s"
                  % (section, array))
            keys = schema.setdefault(section, {})
            for kind, key in arrays[array]:
                keys.setdefault(key, kind)
    check(set(schema) == set(PAGE_SECTIONS),
          "core/config.c has sections %s; this test knows %s"
          % (sorted(schema), sorted(PAGE_SECTIONS)))
    return schema


def core_defaults(config_source):
    """{(section, key): default as written in the page} from set_defaults()."""
    start = config_source.index("static int set_defaults(")
    body = config_source[start:config_source.index("\n}\n", start)]
    defaults = {(s, k): v for s, k, v in INT_DEFAULT_RE.findall(body)}
    defaults.update({(s, k): '"%s"' % v for s, k, v in STRING_DEFAULT_RE.findall(body)})
    check(len(defaults) >= 10, "read only %d defaults from set_defaults()" % len(defaults))
    return defaults


def page_sections(page_text):
    """{.SH title: the lines under it} of a page's source."""
    sections, title = {}, None
    for line in page_text.splitlines():
        if line.startswith(".SH "):
            title = " ".join(roff_arguments(line))
            sections[title] = []
        elif title:
            sections[title].append(line)
    return sections


def key_entries(lines):
    """{key: (type word, default text or None)} of the .BR key entries."""
    entries = {}
    for line in lines:
        if line.startswith(".BR ") and KEY_ENTRY_RE.match(line):
            args = roff_arguments(line)
            heading = re.match(r"^ \((\w+)(?:, default (.*))?\)$", args[1])
            if heading:
                entries[args[0]] = heading.groups()
    return entries


def test_the_5_page_documents_every_core_key_with_its_default(case):
    source = read_source(case, "core", "config.c")
    schema, defaults = core_schema(source), core_defaults(source)
    sections = page_sections(read_source(case, "man", "pganalytics-collector.conf.5"))
    for section, keys in sorted(schema.items()):
        title = PAGE_SECTIONS[section]
        check(title in sections, "the (5) page has no section %r" % title)
        documented = key_entries(sections[title])
        for key, kind in sorted(keys.items()):
            check(key in documented, "pganalytics-collector.conf(5), %s: no entry "
                  "for %s.%s" % (title, section, key))
            type_word, default = documented[key]
            check(type_word == TYPE_WORDS.get(kind, type_word),
                  "%s.%s is a %s in core/config.c, the page says %s"
                  % (section, key, TYPE_WORDS.get(kind, kind), type_word))
            expected = defaults.get((section, key))
            if expected is not None:
                check(default == expected, "%s.%s defaults to %s in core/config.c, "
                      "the page says %s" % (section, key, expected, default))
        extra = set(documented) - set(keys)
        check(not extra, "the (5) page documents %s under %s, which core/config.c "
              "does not know" % (sorted(extra), title))


def test_the_pages_name_each_other(case):
    texts = {name: read_source(case, "man", name) for name in PAGES}
    for name, text in texts.items():
        see_also = page_sections(text).get("SEE ALSO")
        if see_also is None:
            raise TestFailure("%s has no SEE ALSO section" % name)
        joined = plain("\n".join(see_also))
        for other in PAGES:
            if other != name:
                title, section = other.rsplit(".", 1)
                check("%s (%s)" % (title, section) in joined.replace("\n", " "),
                      "%s does not refer to %s(%s) in SEE ALSO" % (name, title, section))
