#!/usr/bin/env python3
"""Check that src/ folders include each other's private headers only along
the pipeline's direction (README.md, "Layout").

Each folder of src/ may include its own headers, the public <eodkit/...>
headers, and the private headers of the folders listed for it below: the
shared helpers (core, geo), the stages before it in the pipeline, and for the
commands on a built dataset, its one reader (src/dataset). Exit 0 when every
`#include "folder/..."` line keeps to this, else 1 with one line per breach
(file:line: what it includes and what it may include).

Usage: check_includes.py [SOURCE_DIR]
"""
import pathlib
import re
import sys

SHARED = ["core", "geo"]

# folder -> the other folders whose private headers it may include
ALLOWED = {
    "core": [],
    "geo": ["core"],
    # the pipeline, in order: recipe -> plan -> read -> labels -> regions
    # -> sampling -> splits -> statistics -> write, driven by src/pipeline
    "recipe": SHARED,
    "grid": SHARED + ["recipe"],
    "read": SHARED + ["recipe", "grid"],
    "label": SHARED + ["recipe", "grid", "read"],
    "regions": SHARED,
    "sample": SHARED + ["recipe", "grid", "regions"],
    "split": SHARED + ["recipe", "grid", "regions"],
    "stats": SHARED + ["recipe", "grid", "read"],
    "write": SHARED + ["recipe", "grid", "read", "label", "regions", "split", "stats"],
    "dataset": SHARED,
    "pipeline": SHARED
    + ["recipe", "grid", "read", "label", "regions", "sample", "split", "stats", "write",
       "dataset"],
    # the commands on a built dataset read it through src/dataset only
    "audit": SHARED + ["dataset", "regions"],
    "eval": SHARED + ["dataset"],
    "export": SHARED + ["dataset", "write"],
    "catalog": SHARED + ["dataset", "regions"],
    "serve": SHARED + ["catalog"],
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/[^"]+"')


def breaches(src):
    """Yield (file, line number, included folder) for every include that
    leaves the table, and (folder, None, None) for a folder not in it."""
    for folder in sorted(p for p in src.iterdir() if p.is_dir()):
        if folder.name not in ALLOWED:
            yield folder, None, None
            continue
        allowed = set(ALLOWED[folder.name]) | {folder.name, "eodkit"}
        for path in sorted(folder.glob("*.[ch]")):
            lines = path.read_text(encoding="utf-8").splitlines()
            for number, line in enumerate(lines, 1):
                match = INCLUDE.match(line)
                if match and match.group(1) not in allowed:
                    yield path, number, match.group(1)


def main(argv):
    root = pathlib.Path(argv[1] if len(argv) > 1 else ".")
    src = root / "src"
    if not src.is_dir():
        print(f"{src}: no such folder", file=sys.stderr)
        return 2
    found = 0
    for path, number, included in breaches(src):
        found += 1
        if number is None:
            print(f"{path}: a folder scripts/check_includes.py does not know; "
                  "add it to ALLOWED in the pipeline's order")
            continue
        may = ", ".join(ALLOWED[path.parent.name]) or "nothing"
        print(f"{path}:{number}: includes a private header of src/{included}/; "
              f"src/{path.parent.name}/ may include those of: {may}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
