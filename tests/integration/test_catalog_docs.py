"""Every example of doc/cmd/catalog.md, doc/cmd/serve.md and doc/catalog.md
runs: the catalog commands in a folder holding what they name
(my-datasets.csv, a dataset built at out/atlanta), the server with its curl
requests (on a free port in place of 8080), the SQL queries on a new
catalog, and `--help` prints the pages."""
import json
import re
import shlex
import signal
import socket
import sqlite3
import subprocess
import urllib.request

from conftest import EODKIT, SHARED, SOURCE, build, help_text, run
from test_catalog_register import RECIPE


def examples(page):
    """The indented command lines after "Examples:" on PAGE."""
    text = (SOURCE / "doc/cmd" / page).read_text()
    return re.findall(r"^    ((?:eodkit|curl) .*)$", text.split("\nExamples:\n", 1)[1], re.M)


def test_help_prints_the_pages():
    for name in ["catalog", "serve"]:
        page = SOURCE / "doc/cmd" / f"{name}.md"
        assert run(name, "--help").stdout == help_text(page)


def test_catalog_examples_run(tmp_path):
    (tmp_path / "my-datasets.csv").write_text(
        "name,year,task,platform,continent,license,url\n"
        "My Floods,2024,semantic segmentation,satellite,Africa,CC-BY-4.0,https://example.org\n")
    built, _ = build(RECIPE.format(shared=SHARED), tmp_path / "recipe", "--regions",
                     SHARED / "boundaries/spData/world.gpkg")
    (tmp_path / "out").mkdir()
    built.rename(tmp_path / "out/atlanta")
    env = {"EODKIT_CATALOG": str(tmp_path / "catalog.sqlite"), "PATH": "/usr/bin:/bin"}
    lines = examples("catalog.md")
    assert len(lines) >= 8
    outputs = {}
    for line in lines:
        args = shlex.split(line)
        assert args[:2] == ["eodkit", "catalog"], line
        proc = subprocess.run([EODKIT, *args[1:]], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, (line, proc.stderr)
        outputs[line] = proc.stdout
    # What the examples promise.
    assert "BigEarthNet" in outputs["eodkit catalog show BigEarthNet"]
    assert "1 added" in outputs["eodkit catalog import my-datasets.csv"]
    assert "Atlanta building footprints" in \
        outputs['eodkit catalog search --continent "North America" atlanta']
    assert (tmp_path / "charts/year.svg").is_file()
    assert (tmp_path / "catalog-stac/catalog.json").is_file()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_examples_run(tmp_path):
    lines = examples("serve.md")
    serve, curls = lines[0], lines[1:]
    assert serve.startswith("eodkit serve --port 8080") and len(curls) == 2
    port = str(free_port())
    args = shlex.split(serve.replace("8080", port))
    proc = subprocess.Popen([EODKIT, *args[1:], "--db", str(tmp_path / "c.sqlite")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert f"http://127.0.0.1:{port}/" in proc.stdout.readline()
        for line in curls:
            url = shlex.split(line.replace("8080", port))[1]
            with urllib.request.urlopen(url, timeout=20) as response:
                assert response.status == 200
                assert json.loads(response.read())
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(timeout=20) == 0
        finally:
            proc.kill()
            proc.communicate()


def test_sql_examples_run(tmp_path):
    db = tmp_path / "c.sqlite"
    run("catalog", "--db", db, "search", "--limit", "1")
    queries = re.findall(r"```sql\n(.*?)```", (SOURCE / "doc/catalog.md").read_text(), re.S)
    assert len(queries) == 2
    con = sqlite3.connect(db)
    per_continent = con.execute(queries[0]).fetchall()
    assert per_continent[0][:2] == ("Europe", 27)
    largest = con.execute(queries[1]).fetchall()
    assert len(largest) == 5 and all("sentinel" in " ".join(
        str(v) for v in con.execute("SELECT name, aliases, sensor, region FROM dataset "
                                    "WHERE name = ?", (name,)).fetchone()).lower()
        for name, _, _ in largest)
    con.close()
