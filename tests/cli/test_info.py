"""`eodkit info` reports what the dataset really holds."""
import json

from conftest import SOURCE, Dataset, build, run


def test_info_text_and_json(tmp_path, demo):
    out, summary = build((SOURCE / "examples/olinda.yaml").read_text()
                         .replace("data/", f"{demo}/"), tmp_path)
    ds = Dataset(out)
    info = json.loads(run("info", out, "--json").stdout)
    assert info["name"] == "olinda-landcover"
    assert {k: v["chips"] for k, v in info["splits"].items()} == summary["splits"]
    assert info["bytes"] == sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert info["modalities"][0]["dtype"] == "uint8"
    assert info["class_pixels"] == ds.stats["classes"]["pixels"]

    text = run("info", out).stdout
    assert "olinda-landcover" in text and "EPSG:31985" in text
    assert "blue, green, red, nir, swir1, swir2" in text
    for split, n in summary["splits"].items():
        assert f"{split:<14} {n:>8}" in text
    train_urban = ds.stats["classes"]["pixels"]["train"]["1"]
    assert f"{train_urban:>14}" in text


def test_info_refuses_what_is_not_a_dataset(tmp_path):
    proc = run("info", tmp_path, check=False)
    assert proc.returncode == 2 and "not an eodkit dataset" in proc.stderr
    proc = run("info", tmp_path / "missing", check=False)
    assert proc.returncode == 2 and "no such dataset folder" in proc.stderr
