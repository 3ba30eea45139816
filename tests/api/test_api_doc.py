"""Every example of doc/api.md runs: one C program per public header,
compiled with the page's own command line (pkg-config against the build
installed into a temporary prefix) and run, in the page's order, in a
folder laid out as the repository after `make demo`, printing what the page
shows. What the examples write is what the eodkit command writes."""
import os
import re
import subprocess

from conftest import SOURCE, build_spacenet_recipe, demo_workdir, run, same_data
from test_api import libdir

PAGE = SOURCE / "doc/api.md"


def examples():
    """(title, C source, shell lines, output shown) of each section of the
    page that holds a C program."""
    found = []
    for section in PAGE.read_text().split("\n## ")[1:]:
        blocks = dict(re.findall(r"```(\w+)\n(.*?)```", section, re.S))
        if "c" in blocks:
            found.append((section.split("\n", 1)[0], blocks["c"], blocks["sh"].splitlines(),
                          blocks["text"]))
    return found


def matches(shown, printed):
    """Whether PRINTED is SHOWN, where a line "..." of SHOWN stands for any
    lines (trailing blanks aside)."""
    pattern = "".join(".*?" if line == "..." else re.escape(line.rstrip()) + r"\n"
                      for line in shown.splitlines())
    printed = "".join(line.rstrip() + "\n" for line in printed.splitlines())
    return re.fullmatch(pattern, printed, re.S) is not None


def test_one_example_per_public_header():
    included = [re.findall(r"#include <eodkit/(\w+\.h)>", source)
                for _, source, _, _ in examples()]
    assert [len(names) for names in included] == [1] * len(included)
    assert sorted(n for names in included for n in names) == \
        sorted(p.name for p in (SOURCE / "include/eodkit").glob("*.h"))
    for (title, _, _, _), names in zip(examples(), included):
        assert title.endswith(": eodkit/" + names[0])


def test_matches():
    assert matches("a\n...\nz\n", "a\nb\nc\nz  \n")
    assert matches("a\n...\nz\n", "a\nz\n")
    assert not matches("a\nz\n", "a\nb\nz\n")


def test_examples_run(prefix, tmp_path, demo, shared):
    work = demo_workdir(tmp_path, demo)
    build_spacenet_recipe(work, shared)  # for the export example
    sanitize = "-fsanitize=address,undefined -fno-omit-frame-pointer " \
        if os.environ.get("EODKIT_SANITIZE") == "ON" else ""
    cc = f"{os.environ.get('EODKIT_CC', 'cc')} -Wall -Wextra -Wshadow -Werror {sanitize}"
    env = dict(os.environ, PKG_CONFIG_PATH=str(libdir(prefix) / "pkgconfig"),
               LD_LIBRARY_PATH=str(libdir(prefix)))
    ran = []
    for title, source, lines, shown in examples():
        compile_line, *run_lines = lines
        name = re.fullmatch(r"cc (\w+)\.c \$\(pkg-config --cflags --libs eodkit\) -o \1",
                            compile_line).group(1)
        (work / f"{name}.c").write_text(source)
        proc = subprocess.run(["sh", "-c", cc + compile_line[3:]], cwd=work, env=env,
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"{title}\n{proc.stderr}"
        printed = ""
        for line in run_lines:
            proc = subprocess.run(["sh", "-c", line], cwd=work, env=env, capture_output=True,
                                  text=True, timeout=300)
            assert proc.returncode == 0 and proc.stderr == "", f"{line}\n{proc.stderr}"
            printed += proc.stdout
        assert matches(shown, printed), f"{title}\n{printed}"
        ran.append(name)
    assert len(ran) == 10

    # what the examples wrote: as the command writes it
    run("build", "examples/olinda.yaml", "-o", "out/olinda-cli", "-j", "2", cwd=work)
    assert same_data(work / "out/olinda-c", work / "out/olinda-cli") > 10
    pred = "examples/out/olinda/test/label-00000.npy"
    run("mosaic", "examples/out/olinda", pred, "-o", "cli.tif", cwd=work)
    assert (work / "test.tif").read_bytes() == (work / "cli.tif").read_bytes()
    run("preview", "examples/out/olinda", "--split", "val", "-n", "4", "--bands",
        "nir,red,green", "-o", "cli.png", cwd=work)
    assert (work / "sheet.png").read_bytes() == (work / "cli.png").read_bytes()
    run("export", "coco", "out/spacenet-buildings", "-o", "coco-cli", "--split", "train",
        "--min-objects", "1", "--no-images", cwd=work)
    assert sorted(p.name for p in (work / "coco-train").rglob("*")) == \
        sorted(p.name for p in (work / "coco-cli").rglob("*"))
    for f in (work / "coco-cli").rglob("*.json"):
        assert (work / "coco-train" / f.relative_to(work / "coco-cli")).read_bytes() == \
            f.read_bytes()
