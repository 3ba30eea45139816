"""The C library as other programs get it: the build installed into a
temporary prefix (conftest.prefix) holds libeodkit.so with its soname,
eodkit.pc, the public headers and an eodkit command that runs from there;
the library exports exactly the functions the public headers declare; and
the C programs of tests/api, which include only <eodkit/...> and standard
headers and are compiled with `pkg-config --cflags --libs eodkit` alone,
open a dataset, read its chips, audit it and search the catalog, with the
results NumPy, sqlite3 and the eodkit command give."""
import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path

import numpy as np

from conftest import SOURCE, copy_tree, run

HERE = Path(__file__).parent
HEADERS = sorted(p.name for p in (SOURCE / "include/eodkit").glob("*.h"))
# Symbols the linker defines in every shared object (section bounds).
LINKER_SYMBOLS = {"_edata", "_end", "__bss_start", "_init", "_fini"}
C_HEADERS = {"assert", "ctype", "errno", "float", "inttypes", "limits", "math", "signal",
             "stdarg", "stdbool", "stddef", "stdint", "stdio", "stdlib", "string", "time",
             "unistd", "arpa/inet", "netinet/in", "sys/socket", "sys/types"}


def libdir(prefix):
    return next(Path(prefix).rglob("pkgconfig/eodkit.pc")).parent.parent


def pkg_config(prefix, *args):
    env = dict(os.environ, PKG_CONFIG_PATH=str(libdir(prefix) / "pkgconfig"))
    return subprocess.run(["pkg-config", *args, "eodkit"], env=env, capture_output=True,
                          text=True, check=True).stdout.split()


def compile_c(prefix, source, exe):
    """Compile C file SOURCE into EXE against PREFIX with nothing but the flags
    of `pkg-config --cflags --libs eodkit` (and the sanitizers when the build
    has them, as its library needs their runtime); warnings are errors."""
    sanitize = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"] \
        if os.environ.get("EODKIT_SANITIZE") == "ON" else []
    command = [os.environ.get("EODKIT_CC", "cc"), "-std=c11", "-Wall", "-Wextra",
               "-Wshadow", "-Wstrict-prototypes", "-Werror", *sanitize, str(source),
               "-o", str(exe), *pkg_config(prefix, "--cflags", "--libs")]
    proc = subprocess.run(command, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(command)}\n{proc.stderr}"
    return exe


def run_c(prefix, exe, *args, cwd=None):
    """Run EXE with ARGS, its library found in PREFIX (LD_LIBRARY_PATH)."""
    env = dict(os.environ, LD_LIBRARY_PATH=str(libdir(prefix)))
    return subprocess.run([str(exe), *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def program(prefix, tmp_path, name):
    return compile_c(prefix, HERE / f"{name}.c", tmp_path / name)


def test_installed_tree(prefix):
    lib = libdir(prefix)
    assert (lib / "libeodkit.so").resolve() == lib / "libeodkit.so.0.1.0"
    assert os.readlink(lib / "libeodkit.so.0") == "libeodkit.so.0.1.0"
    assert not list(Path(prefix).rglob("*.a"))  # the static library is the tests' own
    dynamic = subprocess.run(["readelf", "-d", lib / "libeodkit.so.0.1.0"],
                             capture_output=True, text=True, check=True).stdout
    assert "Library soname: [libeodkit.so.0]" in dynamic
    assert sorted(p.name for p in (prefix / "include/eodkit").iterdir()) == HEADERS
    assert pkg_config(prefix, "--modversion") == ["0.1.0"]
    (cflags,) = pkg_config(prefix, "--cflags")
    assert cflags.startswith("-I") and Path(cflags[2:]).resolve() == prefix / "include"
    libs, name = pkg_config(prefix, "--libs")
    assert libs.startswith("-L") and Path(libs[2:]).resolve() == lib and name == "-leodkit"


def test_installed_command_runs_from_prefix(prefix):
    """bin/eodkit finds the library beside it ($ORIGIN/../lib), not the
    build tree's, without LD_LIBRARY_PATH."""
    exe = prefix / "bin/eodkit"
    dynamic = subprocess.run(["readelf", "-d", exe], capture_output=True, text=True,
                             check=True).stdout
    paths = re.search(r"\((?:RUNPATH|RPATH)\).*\[(.*)\]", dynamic).group(1).split(":")
    assert paths[0] == f"$ORIGIN/../{libdir(prefix).relative_to(prefix)}"
    assert not [p for p in paths if "build" in p]
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    ldd = subprocess.run(["ldd", exe], env=env, capture_output=True, text=True,
                         check=True).stdout
    found = re.search(r"libeodkit\.so\.0 => (\S+)", ldd).group(1)
    assert Path(found).resolve() == libdir(prefix) / "libeodkit.so.0.1.0", ldd
    proc = subprocess.run([exe, "--version"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("eodkit 0.1.0 (GDAL ")


def declarations(header_dir):
    """The functions the headers in HEADER_DIR declare, and those of them
    whose declaration starts with EODKIT_API."""
    declared, marked = [], []
    for header in sorted(Path(header_dir).glob("*.h")):
        text = re.sub(r"/\*.*?\*/", "", header.read_text(), flags=re.S)
        declared += re.findall(r"\b(eodkit_\w+)\s*\(", text)
        marked += re.findall(r"^EODKIT_API\s[^;]*?\b(eodkit_\w+)\s*\(", text, re.M)
    return declared, marked


def test_exports_are_the_public_api(prefix):
    """nm -D: libeodkit.so exports every function include/eodkit declares
    (each marked EODKIT_API) and no other symbol."""
    declared, marked = declarations(prefix / "include/eodkit")
    assert len(declared) > 40 and len(set(declared)) == len(declared)
    assert sorted(marked) == sorted(declared)
    nm = subprocess.run(["nm", "-D", "--defined-only", libdir(prefix) / "libeodkit.so"],
                        capture_output=True, text=True, check=True).stdout
    symbols = {}
    for line in nm.splitlines():
        _, kind, name = line.split()
        symbols[name.split("@")[0]] = kind
    exported = {name: kind for name, kind in symbols.items() if name not in LINKER_SYMBOLS}
    assert set(exported) == set(declared), (set(exported) ^ set(declared))
    assert set(exported.values()) == {"T"}


def test_programs_include_only_the_public_headers():
    sources = sorted(HERE.glob("*.c"))
    assert len(sources) >= 4
    for source in sources:
        for header in re.findall(r"^\s*#\s*include\s*(\S+)", source.read_text(), re.M):
            name = header.strip("<>")
            assert header.startswith("<") and (
                re.fullmatch(r"eodkit/\w+\.h", name) or name[:-2] in C_HEADERS), \
                f"{source.name}: {header}"


def test_open_dataset(prefix, tmp_path, demo_dataset):
    exe = program(prefix, tmp_path, "dataset_info")
    proc = run_c(prefix, exe, demo_dataset)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == run("info", demo_dataset, "--json").stdout
    assert json.loads(proc.stdout)["splits"]["train"]["chips"] == 24
    proc = run_c(prefix, exe, tmp_path / "nothing")
    assert proc.returncode == 2
    assert proc.stderr == f"bad input: {tmp_path}/nothing: no such dataset folder\n"


def fnv1a(data):
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def test_read_chips(prefix, tmp_path, demo_dataset):
    """Every chip of every array and split as NumPy reads it from the shards
    (concatenated in shard order: the index's order)."""
    exe = program(prefix, tmp_path, "read_chips")
    collection = json.loads((demo_dataset / "collection.json").read_text())
    arrays = [m["name"] for m in collection["eodkit:modalities"]] + ["label"]
    assert arrays == ["optical", "label"]
    for split, chips in [("train", 24), ("val", 9), ("test", 8)]:
        for array in arrays:
            shards = sorted((demo_dataset / split).glob(f"{array}-*.npy"))
            rows = np.concatenate([np.load(s) for s in shards])
            proc = run_c(prefix, exe, demo_dataset, split, array)
            assert proc.returncode == 0, proc.stderr
            lines = proc.stdout.splitlines()
            assert lines[0] == f"{split} {array}: {chips} chips of {rows[0].nbytes} bytes"
            assert lines[1:] == [f"{i} {fnv1a(np.ascontiguousarray(r).tobytes())}"
                                 for i, r in enumerate(rows)]
    proc = run_c(prefix, exe, demo_dataset, "test", "optical", 7, 8)
    assert proc.returncode == 1 and proc.stdout.splitlines()[1].startswith("7 ")
    assert proc.stderr == f"usage error: {demo_dataset}: split test has no chip 8 (8 chips)\n"
    proc = run_c(prefix, exe, demo_dataset, "holdout", "optical", 0)
    assert proc.returncode == 1
    assert proc.stderr == f"usage error: {demo_dataset}: no split 'holdout'\n"


def test_read_chip_refuses_a_changed_shard(prefix, tmp_path, demo_dataset):
    """A shard rewritten after the dataset was opened is not read as if it
    still were what the index says."""
    data = tmp_path / "data"
    copy_tree(demo_dataset, data)
    exe = program(prefix, tmp_path, "read_chips")
    shard = data / "val/label-00000.npy"
    np.save(shard, np.load(shard)[:5])
    proc = run_c(prefix, exe, data, "val", "label", 0)
    assert proc.returncode == 2 and str(shard) in proc.stderr


def test_audit(prefix, tmp_path, demo_dataset):
    """The audit a program runs writes what `eodkit audit` writes."""
    api, cli = tmp_path / "api", tmp_path / "cli"
    copy_tree(demo_dataset, api)
    copy_tree(demo_dataset, cli)
    exe = program(prefix, tmp_path, "audit_dataset")
    proc = run_c(prefix, exe, api, api / "report.html")
    assert proc.returncode == 0, proc.stderr
    shown = run("audit", cli, "--html", cli / "report.html").stdout
    assert proc.stdout == shown.replace(str(cli), str(api))
    assert "leakage        ok (blocks split)" in proc.stdout
    for name in ["audit.json", "report.html", "datasheet.md"]:
        assert (api / name).read_text() == (cli / name).read_text().replace(str(cli), str(api))
    weights = "select fid, weight_continent, weight_class from chips order by fid"
    assert sqlite3.connect(api / "index.gpkg").execute(weights).fetchall() == \
        sqlite3.connect(cli / "index.gpkg").execute(weights).fetchall()


def test_catalog_search(prefix, tmp_path):
    exe = program(prefix, tmp_path, "catalog_search")
    proc = run_c(prefix, exe, tmp_path / "api.sqlite", "semantic segmentation", "Africa")
    assert proc.returncode == 0, proc.stderr
    shown = run("catalog", "search", "--task", "semantic segmentation", "--continent",
                "Africa", "--json", "--db", tmp_path / "cli.sqlite").stdout
    assert proc.stdout == shown
    found = json.loads(proc.stdout)
    assert found["total"] == len(found["datasets"]) > 0
    db = sqlite3.connect(tmp_path / "api.sqlite")
    names = {r[0] for r in db.execute(
        "select name from dataset d where exists (select 1 from dataset_task t where "
        "t.dataset = d.pk and t.value = 'semantic segmentation') and exists (select 1 "
        "from dataset_continent c where c.dataset = d.pk and c.value = 'Africa')")}
    assert {d["name"] for d in found["datasets"]} == names
