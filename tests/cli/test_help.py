"""`eodkit <command> --help` and the man pages read well in a terminal: both
are rendered at build time from doc/cmd/<command>.md (scripts/cmdpage.py),
hold no raw Markdown, lose no word of the page and name every option it
lists; the installed man pages (eodkit(1), eodkit-<command>(1)) render
without a warning."""
import os
import re
import subprocess
from collections import Counter

import pytest

from conftest import SOURCE, help_text, run

PAGES = sorted((SOURCE / "doc/cmd").glob("*.md"))
OPTION = r"(?<![\w/.-])(--?[A-Za-z][\w-]*)"


def help_of(page):
    args = ["--help"] if page.stem == "eodkit" else [page.stem, "--help"]
    return run(*args).stdout


def man_name(page):
    return "eodkit" if page.stem == "eodkit" else f"eodkit-{page.stem}"


def raw_markdown(text):
    """The lines of TEXT that show Markdown syntax."""
    patterns = [r"`", r"\*\*", r"^#+ ", r"^\s*\|.*\|\s*$", r"^\s*\|?\s*:?-{3,}:?\s*\|",
                r"\]\(", r"^\s*(```|~~~)"]
    return [line for line in text.splitlines()
            if any(re.search(p, line) for p in patterns)]


def words(text):
    return Counter(w.lower() for w in re.findall(r"\w+", text))


def test_pages_are_found():
    assert {p.stem for p in PAGES} >= {"eodkit", "build", "merge", "info", "audit",
                                        "catalog", "serve", "eval", "mosaic", "preview"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_help_is_the_page_as_plain_text(page):
    markdown = page.read_text()
    shown = help_of(page)
    assert shown == help_text(page)
    assert raw_markdown(shown) == []
    # the same words, none lost to the rendering, none added
    assert words(shown) == words(markdown)
    options = set(re.findall(OPTION, markdown))
    assert set(re.findall(OPTION, shown)) == options
    assert max(len(line) for line in shown.splitlines() if not line.startswith("    ")) <= 79


def test_rendering():
    """What each piece of Markdown becomes (scripts/cmdpage.py on a page made
    for the test)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("cmdpage", SOURCE / "scripts/cmdpage.py")
    cmdpage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cmdpage)
    page = ("# eodkit demo\n\nDo `this` with **care**, *now*; see [the format](format.md)\n"
            "and \\*stars\\*.\n\n    eodkit demo [--fast]\n\n    --fast   quickly\n\n"
            "## Table of `--fast`\n\n| a | b |\n|---|---|\n| `x` | one two three four |\n"
            "| yy | `a\\|b` |\n\n- first item that\n  goes on\n- second\n\n"
            "```sh\neodkit demo `date`\n```\n")
    assert cmdpage.to_text(page) == (
        "eodkit demo\n\n"
        "Do this with care, now; see the format (format.md) and *stars*.\n\n"
        "    eodkit demo [--fast]\n\n    --fast   quickly\n\n"
        "TABLE OF --fast\n\n"
        "a   b\n--  ------------------\nx   one two three four\nyy  a|b\n\n"
        "- first item that goes on\n- second\n\n"
        "    eodkit demo `date`\n")
    assert cmdpage.parse("a line\n12. goes on\n\n1. one\n2. two\n\n- x\n  y\n- z\n") == [
        ("para", "a line 12. goes on"), ("list", (True, ["one", "two"])),
        ("list", (False, ["x y", "z"]))]
    narrow = cmdpage.table_lines([["a", "b"], ["x", "one two three four"]], 12)
    assert narrow == ["a  b", "-  ---------", "x  one two", "   three", "   four"]


def installed_pages(prefix):
    return sorted((prefix / "share/man/man1").glob("*.1"))


def test_man_pages_are_installed(prefix):
    assert [p.name for p in installed_pages(prefix)] == \
        sorted(f"{man_name(p)}.1" for p in PAGES)
    # man finds them by name under the prefix
    proc = subprocess.run(["man", "-M", str(prefix / "share/man"), "-w", "eodkit-build"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("man1/eodkit-build.1")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_man_page_renders_without_warnings(prefix, page):
    path = prefix / "share/man/man1" / f"{man_name(page)}.1"
    env = {k: v for k, v in os.environ.items() if k != "MAN_KEEP_FORMATTING"}
    env.update(MANWIDTH="80", LC_ALL="C.UTF-8")
    proc = subprocess.run(["man", "--warnings", "-l", str(path)], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == ""
    # plain text: without the backspace overstrikes of bold and underline
    shown = re.sub(r".\x08", "", proc.stdout)
    assert raw_markdown(shown) == []
    lines = shown.splitlines()
    assert lines[0].startswith(man_name(page).upper() + "(1)")
    assert lines[2] == "NAME" and lines[3].startswith(f"       {man_name(page)} - ")
    # every word and option of the page is there (NAME and SEE ALSO add some)
    assert not words(page.read_text()) - words(shown)
    assert set(re.findall(OPTION, page.read_text())) <= set(re.findall(OPTION, shown))
