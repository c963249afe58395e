"""docs/OPERATIONS.md must quote every error and warning the core can
log, so that the troubleshooting section cannot fall behind the code.

The messages are read from core/*.c: the format strings of
log_msg(LOG_LVL_ERROR or LOG_LVL_WARNING, ...), and of everything that
builds the text such a line carries (error_set(), loader_reject(),
cfg_error(), the emitter's misuse reasons, snprintf() into an error or
detail buffer, fprintf(stderr, ...)).  Each fixed part of a format (the
text between its conversions, macros such as REJECTED_SUBDIR expanded)
must appear verbatim in the document; placeholders there are free.

Only the core: the bundled plugins' messages are documented too, but they
change with the plugins (pglog is still being built), so a check on them
would fail other work in progress.

    python3 tests/integration/test_operations_doc.py   # lists what is missing
"""

import glob
import os
import re
import sys

try:
    from harness import check
except ImportError:  # run directly, outside run.py
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from harness import check

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(SOURCE_DIR, "docs", "OPERATIONS.md")

# function name -> (index of the format argument, the arguments that are
# texts, or None for "the format only"); see messages().
LOG_CALLS = {"log_msg": 1}
TEXT_CALLS = {"error_set": 2, "cfg_error": 1, "misuse": 1, "poison": 2, "poisonf": 2}
# loader_reject(name, path, WHAT, DETAIL, HINT)
REJECT_TEXT_ARGS = (2, 3, 4)
# snprintf(BUFFER, size, FORMAT, ...) into one of these buffers ends up in a message.
MESSAGE_BUFFERS = ("err", "why", "detail", "hint", "what", "problem", "resp->error")
LOGGED_LEVELS = ("LOG_LVL_ERROR", "LOG_LVL_WARNING")

CONVERSION_RE = re.compile(r"%[-+ #0]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?:hh|h|ll|l|z|j|t|L)?"
                           r"[diouxXeEfgGcsp%]")
STRING_MACRO_RE = re.compile(r'^#define (\w+)((?:[ \t]*(?:\\\n)?[ \t]*"(?:[^"\\]|\\.)*")+)'
                             r"[ \t]*$", re.M)
LITERAL_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')
# A fixed part shorter than this says nothing ("; ", "\" (", "s)").
MIN_LETTERS = 4


def strip_comments(text):
    """C source without comments, string and character literals kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text[i] in "\"'":
            j = i + 1
            while j < n and text[j] != text[i]:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def unescape(literal):
    """The text of a C string literal's body."""
    simple = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "'": "'"}
    return re.sub(r"\\(.)", lambda m: simple.get(m.group(1), m.group(1)), literal)


def string_macros(sources):
    """{NAME: text} of every #define whose value is string literals."""
    macros = {"PRIu64": "llu", "PRIu32": "u", "PRId64": "lld", "PRIx32": "x"}
    for text in sources:
        for name, value in STRING_MACRO_RE.findall(text):
            macros[name] = "".join(unescape(s) for s in LITERAL_RE.findall(value))
    return macros


def call_arguments(text, start):
    """The top-level arguments of the call whose '(' is at text[start]."""
    args, depth, i, current = [], 0, start, []
    while i < len(text):
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < len(text) and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            current.append(text[i:j + 1])
            i = j + 1
            continue
        if c == "(":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif c == ")":
            depth -= 1
            if depth == 0:
                args.append("".join(current).strip())
                return args
        elif c == "," and depth == 1:
            args.append("".join(current).strip())
            current = []
            i += 1
            continue
        current.append(c)
        i += 1
    return args


def argument_texts(argument, macros, whole_only):
    """The texts an argument can take: a concatenation of literals and
    string macros as one text; otherwise (whole_only False) each literal
    inside the expression, such as both sides of a ?:."""
    words = re.findall(r'"(?:[^"\\]|\\.)*"|\w+|\S', argument)
    if words and all(w.startswith('"') or w in macros for w in words):
        return ["".join(unescape(w[1:-1]) if w.startswith('"') else macros[w]
                        for w in words)]
    if whole_only:
        return []
    return [unescape(w[1:-1]) for w in words if w.startswith('"')]


def calls(text, name):
    """The argument lists of every call of `name` in text."""
    for match in re.finditer(r"(?<![\w>.])%s\s*\(" % re.escape(name), text):
        yield call_arguments(text, match.end() - 1)


def messages():
    """[(file, text)]: every text an error or warning of the core can show."""
    paths = sorted(glob.glob(os.path.join(SOURCE_DIR, "core", "*.[ch]")))
    paths.append(os.path.join(SOURCE_DIR, "sdk", "include", "pganalytics", "plugin.h"))
    sources = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            sources[path] = strip_comments(f.read())
    macros = string_macros(sources.values())
    found = []
    for path, text in sources.items():
        if not path.endswith(".c"):
            continue
        name = os.path.relpath(path, SOURCE_DIR)
        for call in calls(text, "log_msg"):
            if call and call[0] in LOGGED_LEVELS:
                for argument in call[1:]:
                    found += [(name, t) for t in argument_texts(argument, macros, False)]
        for function, index in TEXT_CALLS.items():
            for call in calls(text, function):
                if len(call) > index:
                    found += [(name, t) for t in argument_texts(call[index], macros, False)]
        for call in calls(text, "loader_reject"):
            for index in REJECT_TEXT_ARGS:
                if len(call) > index:
                    found += [(name, t) for t in argument_texts(call[index], macros, False)]
        for call in calls(text, "snprintf"):
            if len(call) > 2 and call[0] in MESSAGE_BUFFERS:
                found += [(name, t) for t in argument_texts(call[2], macros, False)]
        for call in calls(text, "fprintf"):
            if len(call) > 1 and call[0] == "stderr":
                found += [(name, t) for t in argument_texts(call[1], macros, True)]
    return found


def normalized(text):
    return " ".join(text.split())


def fixed_parts(message):
    """The pieces of a format between its conversions that say something."""
    parts = [normalized(p) for p in CONVERSION_RE.split(message)]
    return [p for p in parts if sum(c.isalnum() for c in p) >= MIN_LETTERS]


def missing_parts():
    """[(file, message, part)] for each fixed part the document lacks."""
    with open(DOC, encoding="utf-8") as f:
        doc = normalized(f.read())
    missing = []
    for name, message in messages():
        for part in fixed_parts(message):
            if part not in doc:
                missing.append((name, message, part))
    return missing


def test_every_core_error_and_warning_is_in_operations_md(case):
    found = messages()
    check(len(found) > 150, "read only %d message texts from core/: the "
          "extraction broke" % len(found))
    for must in ("is in use by another collector", "plain http is refused",
                 "ABI major mismatch", "must be from 1 to"):
        check(any(must in text for _, text in found),
              "the extraction missed %r" % must)
    missing = missing_parts()
    check(not missing, "docs/OPERATIONS.md lacks %d message part(s) of the core; "
          "quote each message (placeholders for its %%s), e.g.:\n%s"
          % (len(missing), "\n".join("%s: %r (in %r)" % m for m in missing[:40])))


if __name__ == "__main__":
    for entry in missing_parts():
        print("%s: %r\n    in %r" % entry)
