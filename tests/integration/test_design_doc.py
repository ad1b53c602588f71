"""doc/DESIGN.md names only files and folders that exist: every path or
file name it mentions (`policy/policy-parse.c`, `state-file.c`,
`common/`) is in the tree."""

import os
import re

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DOC = os.path.join(TOP, "doc", "DESIGN.md")

# a path (with '/') or a file name with one of the tree's extensions
# (a "-main.c" after a file's stem names a sibling and is not checked)
NAME = re.compile(r"(?<![\w./-])((?:\w[\w.-]*/)*\w[\w.-]*"
                  r"\.(?:c|h|py|sh|md|inc|am|ac|in|conf)"
                  r"|(?:\w[\w-]*/)+)(?![\w/-])")


def tree_files():
    found = set()
    for root, dirs, files in os.walk(TOP):
        dirs[:] = [d for d in dirs if not d.startswith((".", "build"))]
        rel = os.path.relpath(root, TOP)
        for f in files:
            found.add(os.path.normpath(os.path.join(rel, f)))
    return found


def names_in_doc():
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    return sorted(set(m.group(1) for m in NAME.finditer(text)))


# Dovecot's headers and what configure/autoheader write
NOT_OURS = {"lib.h", "config.h", "dummy-config.h"}


def exists(name, files, basenames):
    if name.startswith("shared/") or name in NOT_OURS:
        return True     # the project's notes, outside the tree
    if name + ".in" in basenames:
        return True     # made by configure from NAME.in
    if name.endswith("/"):
        return os.path.isdir(os.path.join(TOP, name)) or \
            os.path.isdir(os.path.join(TOP, "doc", name))
    if "/" in name:
        return os.path.normpath(name) in files or \
            os.path.normpath(os.path.join("doc", name)) in files
    return name in basenames


def test_design_doc_names_existing_files():
    files = tree_files()
    basenames = {os.path.basename(f) for f in files}
    names = names_in_doc()
    assert len(names) > 20      # the pattern still finds what it should
    missing = [n for n in names if not exists(n, files, basenames)]
    assert missing == []
