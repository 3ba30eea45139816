#!/usr/bin/env python3
"""Render the command pages of doc/cmd (Markdown) for a terminal, at build
time (standard library only): as the plain text `eodkit <command> --help`
prints, and as man pages.

    cmdpage.py text PAGE.md                  the --help text, on stdout
    cmdpage.py help OUT.c PAGE.md...         the --help texts as C strings (cli/help.h)
    cmdpage.py man OUT.1 PAGE.md VERSION     eodkit(1) or eodkit-<command>(1)

The pages use a small part of Markdown: # headings, paragraphs, indented or
fenced code blocks, tables, - and 1. lists; inline `code`, **strong**,
*emphasis*, [links](url) and backslash escapes. Plain text keeps code blocks
as they are (indented 4), draws tables as aligned columns, refills
paragraphs and lists to 79 columns and drops the inline markup; headings
become plain lines (sections in capitals, as in man pages)."""
import re
import sys
import textwrap
from pathlib import Path

WIDTH = 79  # of the --help text
MAN_TABLE_WIDTH = 72  # a table in a man page, beside man's 7-column margin


# ---- blocks ----

def parse(text):
    """The blocks of Markdown TEXT: (kind, value) with kind "heading"
    ((level, text)), "para" (text), "code" (lines), "table" (rows of cells)
    or "list" ((ordered, items))."""
    lines = text.expandtabs(4).split("\n")
    blocks = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        heading = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        fence = re.match(r"^\s{0,3}(`{3,}|~{3,})", line)
        if heading:
            blocks.append(("heading", (len(heading.group(1)), heading.group(2))))
            i += 1
        elif fence:
            i = code_fenced(lines, i, fence.group(1), blocks)
        elif line.startswith("    "):
            i = code_indented(lines, i, blocks)
        elif line.lstrip().startswith("|") and i + 1 < len(lines) and \
                is_table_rule(lines[i + 1]):
            i = table(lines, i, blocks)
        elif list_marker(line):
            i = list_items(lines, i, blocks)
        else:
            start = i
            while i < len(lines) and lines[i].strip() and not starts_block(lines[i]):
                i += 1
            blocks.append(("para", " ".join(l.strip() for l in lines[start:i])))
    return blocks


def starts_block(line):
    """Whether LINE, inside a paragraph, begins another block: a heading, a
    fence, a table, a list item ("1." for an ordered list, as in CommonMark);
    an indented line does not."""
    marker = list_marker(line)
    return bool(re.match(r"^(#{1,6}\s|\s{0,3}(```|~~~)|\s*\|)", line)) or \
        (marker is not None and marker.group(1) in ("-", "*", "+", "1.", "1)"))


def list_marker(line):
    """The match of the marker ("- ", "1. ") of a list item LINE begins, or
    None."""
    return re.match(r"^\s{0,3}([-*+]|\d{1,9}[.)])\s+(?=\S)", line)


def code_fenced(lines, i, fence, blocks):
    body = []
    i += 1
    while i < len(lines) and not lines[i].lstrip().startswith(fence):
        body.append(lines[i])
        i += 1
    blocks.append(("code", body))
    return i + 1


def code_indented(lines, i, blocks):
    body = []
    while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
        body.append(lines[i][4:].rstrip())
        i += 1
    while body and not body[-1]:
        body.pop()
    blocks.append(("code", body))
    return i


def is_table_rule(line):
    return bool(re.match(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$", line)) and \
        "|" in line


def cells(line):
    line = line.strip()
    line = line[1:] if line.startswith("|") else line
    line = line[:-1] if line.endswith("|") and not line.endswith("\\|") else line
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]


def table(lines, i, blocks):
    rows = [cells(lines[i])]
    i += 2
    while i < len(lines) and lines[i].lstrip().startswith("|"):
        rows.append(cells(lines[i]))
        i += 1
    blocks.append(("table", rows))
    return i


def list_items(lines, i, blocks):
    ordered = list_marker(lines[i]).group(1)[0].isdigit()
    items = []
    while i < len(lines):
        m = list_marker(lines[i])
        if m is None or m.group(1)[0].isdigit() != ordered:
            break
        text = [lines[i][m.end():].strip()]
        i += 1
        # continuation lines: indented, or lazy (not another block)
        while i < len(lines) and lines[i].strip() and list_marker(lines[i]) is None and \
                (lines[i].startswith("  ") or not starts_block(lines[i])):
            text.append(lines[i].strip())
            i += 1
        items.append(" ".join(text))
        if i < len(lines) and not lines[i].strip() and i + 1 < len(lines) and \
                list_marker(lines[i + 1]) is not None:
            i += 1  # a blank line between items
    blocks.append(("list", (ordered, items)))
    return i


# ---- inline markup ----

def spans(text):
    """TEXT cut into ("code", s) spans and ("text", s) runs; in the runs the
    links, emphasis and backslash escapes are already resolved into
    ("text", s), ("strong", s) and ("em", s)."""
    out = []
    pos = 0
    for m in re.finditer(r"(?<!\\)(`+)(.+?)(?<!`)\1(?!`)", text):
        out += runs(text[pos:m.start()])
        code = m.group(2)
        if code.startswith(" ") and code.endswith(" ") and code.strip():
            code = code[1:-1]
        out.append(("code", code))
        pos = m.end()
    return out + runs(text[pos:])


def runs(text):
    text = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)",
                  lambda m: m.group(1) if m.group(1) == m.group(2)
                  else f"{m.group(1)} ({m.group(2)})", text)
    text = re.sub(r"<((?:https?|ftp|mailto):[^>\s]+)>", r"\1", text)
    out = []
    pos = 0
    pattern = r"(?<![\w*\\])(\*\*|__)(?=\S)(.+?)(?<=\S)\1(?![\w*])|" \
              r"(?<![\w*\\])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])"
    for m in re.finditer(pattern, text):
        out.append(("text", unescape(text[pos:m.start()])))
        if m.group(1):
            out.append(("strong", unescape(m.group(2))))
        else:
            out.append(("em", unescape(m.group(3))))
        pos = m.end()
    out.append(("text", unescape(text[pos:])))
    return [s for s in out if s[1]]


def unescape(text):
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def plain(text):
    """TEXT without inline markup."""
    return "".join(s for _, s in spans(text))


def section_title(text):
    """Heading TEXT as a section title: without markup, in capitals but its
    code (options keep their case)."""
    return "".join(s if kind == "code" else s.upper() for kind, s in spans(text))


# ---- plain text ----

def wrap(text, width, first="", rest=""):
    """TEXT refilled to WIDTH; a number stays on the line of its "%"."""
    text = re.sub(r"(\d) %", "\\1\xa0%", text)
    lines = textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest,
                          break_long_words=False, break_on_hyphens=False) or [first]
    return [line.replace("\xa0", " ") for line in lines]


def table_lines(rows, width):
    """ROWS (lists of Markdown cells, the first the header) as aligned
    columns within WIDTH: cells refilled in their column, a rule of dashes
    under the header."""
    rows = [[plain(c) for c in r] for r in rows]
    ncol = max(len(r) for r in rows)
    rows = [r + [""] * (ncol - len(r)) for r in rows]
    natural = [max(len(r[c]) for r in rows) for c in range(ncol)]
    least = [max([len(w) for r in rows for w in r[c].split()] + [1]) for c in range(ncol)]
    widths = natural[:]
    room = width - 2 * (ncol - 1)
    while sum(widths) > room:
        c = max((c for c in range(ncol) if widths[c] > least[c]),
                key=lambda c: widths[c], default=None)
        if c is None:
            break
        widths[c] -= 1
    out = []
    for k, r in enumerate(rows):
        wrapped = [textwrap.wrap(r[c], widths[c], break_long_words=False,
                                 break_on_hyphens=False) or [""] for c in range(ncol)]
        for n in range(max(len(w) for w in wrapped)):
            line = "  ".join((wrapped[c][n] if n < len(wrapped[c]) else "").ljust(widths[c])
                             for c in range(ncol))
            out.append(line.rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def to_text(markdown):
    """The page MARKDOWN as the plain text `--help` prints."""
    out = []
    for kind, value in parse(markdown):
        if kind == "heading":
            level, text = value
            out.append([plain(text) if level == 1 else section_title(text)])
        elif kind == "para":
            out.append(wrap(plain(value), WIDTH))
        elif kind == "code":
            out.append([("    " + line).rstrip() for line in value])
        elif kind == "table":
            out.append(table_lines(value, WIDTH))
        else:
            ordered, items = value
            lines = []
            for n, item in enumerate(items, 1):
                mark = f"{n}. " if ordered else "- "
                lines += wrap(plain(item), WIDTH, mark, " " * len(mark))
            out.append(lines)
    return "\n\n".join("\n".join(block) for block in out) + "\n"


# ---- C strings for cli/help.h ----

def c_string(text):
    body = []
    for line in text.splitlines(keepends=True):
        s = line.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        s = s.replace("??", "?\\?")  # no trigraphs
        body.append(f'    "{s}"')
    return "\n".join(body)


def to_c(pages):
    out = ["/* Generated by scripts/cmdpage.py from the pages of doc/cmd: each as the",
           "   plain text of --help. */",
           "#include <stddef.h>", "", '#include "help.h"', ""]
    names = []
    for page in sorted(pages, key=lambda p: p.stem):
        names.append(page.stem)
        out += [f"static const char help_{page.stem}[] =",
                c_string(to_text(page.read_text(encoding="utf-8"))) + ";", ""]
    out.append("const ek_help_page ek_help_pages[] = {")
    out += [f'    {{"{n}", help_{n}}},' for n in names]
    out += ["    {NULL, NULL},", "};", ""]
    return "\n".join(out)


# ---- man pages ----

def roff_escape(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return text.replace("'", "\\(aq").replace("`", "\\(ga")


def roff_line(text):
    """TEXT as a line of roff input: a leading dot or quote is not a request."""
    return "\\&" + text if text.startswith((".", "'")) else text


def roff_inline(markdown):
    out = []
    for kind, s in spans(markdown):
        s = roff_escape(s)
        out.append(f"\\fB{s}\\fR" if kind in ("code", "strong") else
                   f"\\fI{s}\\fR" if kind == "em" else s)
    return roff_line("".join(out))


def roff_preformatted(lines, indent):
    out = [".RS %d" % indent] if indent else []
    out.append(".nf")
    out += [roff_line(roff_escape(line)) for line in lines]
    out.append(".fi")
    if indent:
        out.append(".RE")
    return out


def man_name(page):
    return "eodkit" if page.stem == "eodkit" else f"eodkit-{page.stem}"


def summary(text):
    """The first clause of the page's first paragraph, for NAME."""
    first = re.split(r"[.:](?:\s|$)", plain(text), maxsplit=1)[0].strip()
    if len(first) > 1 and first[1].islower():
        first = first[0].lower() + first[1:]
    return first


def to_man(page, version):
    """Command page PAGE (a Path) as man page source (roff, man macros)."""
    name = man_name(page)
    blocks = parse(page.read_text(encoding="utf-8"))
    if blocks and blocks[0][0] == "heading" and blocks[0][1][0] == 1:
        blocks = blocks[1:]
    intro = next((v for k, v in blocks if k == "para"), "")
    out = [f".\\\" Generated by scripts/cmdpage.py from doc/cmd/{page.name}; do not edit.",
           f'.TH {roff_escape(name.upper())} 1 "" "eodkit {version}" "eodkit manual"',
           ".nh", ".ad l", ".SH NAME", f"{roff_escape(name)} \\- {roff_escape(summary(intro))}"]
    # SYNOPSIS: the first lines of the first code block, when only the
    # introduction comes before it; the rest of the block (the options)
    # stays where it is
    k = 0
    while k < len(blocks) and blocks[k][0] == "para":
        k += 1
    if k < len(blocks) and blocks[k][0] == "code":
        lines = blocks[k][1]
        cut = lines.index("") if "" in lines else len(lines)
        out += [".SH SYNOPSIS"] + roff_preformatted(lines[:cut], 0)
        rest = lines[cut + 1:]
        blocks = blocks[:k] + ([("code", rest)] if rest else []) + blocks[k + 1:]
    out.append(".SH DESCRIPTION")
    for kind, value in blocks:
        if kind == "heading":
            level, text = value
            title = section_title(text) if level <= 2 else plain(text)
            out.append(f"{'.SH' if level <= 2 else '.SS'} {roff_line(roff_escape(title))}")
        elif kind == "para":
            out += [".PP", roff_inline(value)]
        elif kind == "code":
            out += [".PP"] + roff_preformatted(value, 4)
        elif kind == "table":
            out += [".PP"] + roff_preformatted(table_lines(value, MAN_TABLE_WIDTH), 0)
        else:
            ordered, items = value
            out.append(".PP")
            for n, item in enumerate(items, 1):
                out += [f".IP {n}. 4" if ordered else ".IP \\(bu 2", roff_inline(item)]
    others = sorted(p for p in page.parent.glob("*.md") if p != page)
    see = ["eodkit(1)"] if name != "eodkit" else [f"{man_name(p)}(1)" for p in others]
    out += [".SH SEE ALSO", roff_escape(", ".join(see))]
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) == 3 and argv[1] == "text":
        sys.stdout.write(to_text(Path(argv[2]).read_text(encoding="utf-8")))
    elif len(argv) >= 4 and argv[1] == "help":
        Path(argv[2]).parent.mkdir(parents=True, exist_ok=True)
        Path(argv[2]).write_text(to_c([Path(p) for p in argv[3:]]), encoding="utf-8")
    elif len(argv) == 5 and argv[1] == "man":
        Path(argv[2]).parent.mkdir(parents=True, exist_ok=True)
        Path(argv[2]).write_text(to_man(Path(argv[3]), argv[4]), encoding="utf-8")
    else:
        sys.stderr.write(__doc__)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
