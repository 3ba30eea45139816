"""eodkit export: COCO documents pass a structural check of the COCO format,
YOLO lines are the dataset's boxes, instance masks come back exactly from
the polygons and the RLE, images are the chips' pixels with their
georeference, and the output folder is only ever replaced whole."""
import fcntl
import json
import os
import resource
import shutil
import signal
import socket
from pathlib import Path

import numpy as np
import pytest
import rasterio
from osgeo import gdal, ogr

from conftest import SOURCE, Dataset, build, build_spacenet_recipe, run, run_page_examples
from safety import check_no_leftovers, check_user_files, place_user_files
from test_detection import LULC, spacenet

gdal.UseExceptions()


@pytest.fixture(scope="module")
def buildings(shared, tmp_path_factory):
    out, _ = build(spacenet(shared, "oriented: true"), tmp_path_factory.mktemp("sn"))
    return out


@pytest.fixture(scope="module")
def upright(shared, tmp_path_factory):
    out, _ = build(spacenet(shared), tmp_path_factory.mktemp("up"))
    return out


@pytest.fixture(scope="module")
def instances(shared, tmp_path_factory):
    out, _ = build(LULC.format(shared=shared), tmp_path_factory.mktemp("lulc"))
    return out


def chip_objects(ds, row):
    first, count = ds.chip(row, "box_range")
    arrays = ds.collection["eodkit:label"]["arrays"]
    return {n: np.asarray(ds.array(row["split"], n, row["shard"])[first:first + count])
            for n, a in arrays.items() if a["per"] == "object"}


def rle_decode(rle):
    h, w = rle["size"]
    flat = np.zeros(h * w, dtype=np.uint8)
    at, value = 0, 0
    for n in rle["counts"]:
        flat[at:at + n] = value
        at += n
        value = 1 - value
    assert at == h * w
    return flat.reshape(w, h).T  # column-major


def check_coco(doc, image_root):
    """The structure COCO tools rely on: every field with its type, unique
    ids, every annotation's image and category present, its box inside the
    image, its segmentation well formed."""
    assert set(doc) >= {"info", "licenses", "images", "annotations", "categories"}
    images = {}
    for im in doc["images"]:
        assert isinstance(im["id"], int) and isinstance(im["file_name"], str)
        assert isinstance(im["width"], int) and isinstance(im["height"], int)
        assert im["id"] not in images
        images[im["id"]] = im
        assert (image_root / im["file_name"]).is_file()
    categories = {c["id"]: c for c in doc["categories"]}
    assert len(categories) == len(doc["categories"]) and all(
        isinstance(c["name"], str) and isinstance(c["id"], int) for c in doc["categories"])
    ids = [a["id"] for a in doc["annotations"]]
    assert len(set(ids)) == len(ids) and all(isinstance(i, int) for i in ids)
    for a in doc["annotations"]:
        im = images[a["image_id"]]
        assert a["category_id"] in categories
        x, y, w, h = a["bbox"]
        assert w > 0 and h > 0
        assert x >= 0 and y >= 0 and x + w <= im["width"] + 1e-4 and y + h <= im["height"] + 1e-4
        assert a["iscrowd"] == 0 and a["area"] >= 0
        seg = a.get("segmentation")
        if isinstance(seg, dict):
            assert seg["size"] == [im["height"], im["width"]]
            assert sum(seg["counts"]) == im["height"] * im["width"]
        elif seg is not None:
            assert seg and all(len(p) >= 6 and len(p) % 2 == 0 for p in seg)
    return images, categories


def test_coco_is_well_formed_and_holds_the_boxes(buildings, tmp_path):
    out = tmp_path / "coco"
    proc = run("export", "coco", buildings, "-o", out, "--json")
    summary = json.loads(proc.stdout)
    ds = Dataset(buildings)
    rows = {r["chip_id"]: r for r in ds.chips()}
    names = {c["id"]: c["name"] for c in ds.collection["eodkit:label"]["classes"]}
    total = 0
    for split in ["train", "val", "test"]:
        doc = json.loads((out / "annotations" / f"{split}.json").read_text())
        images, categories = check_coco(doc, out / "images" / split)
        assert {k: v["name"] for k, v in categories.items()} == names
        assert sorted(images) == sorted(r["chip_id"] for r in rows.values()
                                        if r["split"] == split)
        assert summary["splits"][split]["images"] == len(images)
        by_image = {}
        for a in doc["annotations"]:
            by_image.setdefault(a["image_id"], []).append(a)
        for chip_id, im in images.items():
            row = rows[chip_id]
            assert im["eodkit"]["geotransform"] == json.loads(row["geotransform"])
            assert im["eodkit"]["crs"] == row["crs"] == "EPSG:32616"
            objs = chip_objects(ds, row)
            anns = by_image.get(chip_id, [])
            assert [a["eodkit"]["object_id"] for a in anns] == objs["box_id"].tolist()
            for a, b, corners in zip(anns, objs["boxes"], objs["obb"]):
                assert a["bbox"] == pytest.approx([b[0], b[1], b[2] - b[0], b[3] - b[1]],
                                                  abs=1e-5)
                assert a["segmentation"] == [pytest.approx(corners.tolist(), abs=1e-5)]
            total += len(anns)
    assert total == sum(n for s in ds.stats["classes"]["objects"].values() for n in s.values())


def test_images_are_the_chips_in_place(buildings, tmp_path):
    out = tmp_path / "coco"
    run("export", "coco", buildings, "-o", out, "--split", "val")
    ds = Dataset(buildings)
    assert not (out / "images" / "train").exists()
    for row in ds.chips("split = 'val'"):
        with rasterio.open(out / "images" / "val" / f"{row['chip_id']}.tif") as tif:
            assert np.array_equal(tif.read(), ds.chip(row, "pan"))
            assert list(tif.transform.to_gdal()) == json.loads(row["geotransform"])
            assert tif.crs.to_epsg() == 32616 and tif.nodata == 0
        # and they are the source's pixels at that place
        with rasterio.open(SOURCE.parent / "shared/data/optical/solaris/sample_geotiff.tif") as src:
            gt = json.loads(row["geotransform"])
            col = round((gt[0] - src.transform.c) / src.transform.a)
            line = round((gt[3] - src.transform.f) / src.transform.e)
            window = rasterio.windows.Window(col, line, 256, 256)
            assert np.array_equal(src.read(window=window), ds.chip(row, "pan"))


def test_yolo_lines_are_the_boxes(upright, buildings, tmp_path):
    ds = Dataset(upright)
    out = tmp_path / "yolo"
    run("export", "yolo", upright, "-o", out, "--no-images")
    assert not (out / "images").exists()
    data = (out / "data.yaml").read_text()
    assert f"path: {out}\n" in data and "train: images/train\n" in data
    assert data.endswith('names:\n  0: "geotiff_labels"\n')
    lines = 0
    for row in ds.chips():
        text = (out / "labels" / row["split"] / f"{row['chip_id']}.txt").read_text()
        got = np.array([[float(v) for v in line.split()] for line in text.splitlines()])
        boxes = chip_objects(ds, row)["boxes"].astype(np.float64)
        if len(boxes) == 0:
            assert text == ""
            continue
        assert (got[:, 0] == 0).all()
        want = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2,
                         boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], 1) / 256
        assert np.abs(got[:, 1:] - want).max() <= 5e-7
        lines += len(got)
    assert lines > 100
    # oriented datasets give YOLO-OBB lines: the corners, normalised
    obb = tmp_path / "obb"
    run("export", "yolo", buildings, "-o", obb, "--no-images", "--split", "test")
    ds = Dataset(buildings)
    for row in ds.chips("split = 'test'"):
        text = (obb / "labels" / "test" / f"{row['chip_id']}.txt").read_text()
        corners = chip_objects(ds, row)["obb"].astype(np.float64) / 256
        got = np.array([[float(v) for v in line.split()][1:] for line in text.splitlines()])
        assert len(got) == len(corners)
        assert len(got) == 0 or np.abs(got - corners).max() <= 5e-7


def test_min_objects_leaves_out_emptier_chips(upright, tmp_path):
    ds = Dataset(upright)
    counts = {r["chip_id"]: r["objects"] for r in ds.chips("split = 'train'")}
    out = tmp_path / "yolo"
    summary = json.loads(run("export", "yolo", upright, "-o", out, "--split", "train",
                             "--min-objects", 3, "--json").stdout)["splits"]["train"]
    kept = {int(p.stem) for p in (out / "labels" / "train").glob("*.txt")}
    assert kept == {c for c, n in counts.items() if n >= 3}
    assert {int(p.stem) for p in (out / "images" / "train").glob("*.tif")} == kept
    assert summary == {"images": len(kept), "objects": sum(counts[c] for c in kept),
                       "skipped": len(counts) - len(kept)}
    assert 0 < len(kept) < len(counts)


def test_instance_masks_come_back_from_polygons_and_rle(instances, tmp_path):
    ds = Dataset(instances)
    rows = {r["chip_id"]: r for r in ds.chips()}
    for flag in ([], ["--rle"]):
        out = tmp_path / ("rle" if flag else "poly")
        run("export", "coco", instances, "-o", out, *flag)
        checked = 0
        for split in ["train", "test"]:
            doc = json.loads((out / "annotations" / f"{split}.json").read_text())
            check_coco(doc, out / "images" / split)
            for a in doc["annotations"]:
                ids = ds.chip(rows[a["image_id"]], "instance")
                want = (ids == a["eodkit"]["object_id"]).astype(np.uint8)
                seg = a["segmentation"]
                if isinstance(seg, dict):
                    got = rle_decode(seg)
                else:
                    assert not flag
                    got = rasterise(seg, *want.shape)
                assert np.array_equal(got, want)
                assert a["area"] == want.sum()
                checked += 1
        assert checked > 100


def rasterise(polygons, h, w):
    """COCO polygons burnt onto an H x W grid of unit pixels (pixel centres
    inside), as GDAL does."""
    raster = gdal.GetDriverByName("MEM").Create("", w, h, 1, gdal.GDT_Byte)
    raster.SetGeoTransform([0, 1, 0, 0, 0, 1])
    mem = ogr.GetDriverByName("Memory").CreateDataSource("p")
    layer = mem.CreateLayer("p")
    for p in polygons:
        ring = ogr.Geometry(ogr.wkbLinearRing)
        for x, y in zip(p[0::2], p[1::2]):
            ring.AddPoint_2D(x, y)
        ring.CloseRings()
        poly = ogr.Geometry(ogr.wkbPolygon)
        poly.AddGeometry(ring)
        f = ogr.Feature(layer.GetLayerDefn())
        f.SetGeometry(poly)
        layer.CreateFeature(f)
    gdal.RasterizeLayer(raster, [1], layer, burn_values=[1])
    return raster.ReadAsArray()


def test_exports_are_reproducible_and_replace_only_exports(buildings, tmp_path):
    out = tmp_path / "coco"
    run("export", "coco", buildings, "-o", out, "--split", "test")
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    proc = run("export", "coco", buildings, "-o", out, "--split", "test", check=False)
    assert proc.returncode == 6 and "--overwrite" in proc.stderr
    run("export", "coco", buildings, "-o", out, "--split", "test", "--overwrite")
    again = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert again == first and len(first) > 5
    assert not (tmp_path / "coco.partial").exists() and not (tmp_path / "coco.old").exists()
    # a folder eodkit did not write is never replaced
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    proc = run("export", "coco", buildings, "-o", mine, "--overwrite", check=False)
    assert proc.returncode == 6 and "not an export of eodkit" in proc.stderr
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def files_of(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def reference(buildings, tmp_path_factory):
    """The files of the COCO export of every split, made in one go."""
    out = tmp_path_factory.mktemp("ref") / "coco"
    run("export", "coco", buildings, "-o", out)
    return files_of(out)


def test_exports_keep_what_they_did_not_write(buildings, reference, tmp_path):
    """A folder at DIR that no export wrote is refused (exit 6) with or
    without --overwrite, and so is a DIR.partial eodkit did not make; either
    is left as it was, and so are the user's files beside DIR (among them
    DIR.old, which earlier versions of export used as their swap folder)."""
    out = tmp_path / "work" / "coco"
    user = place_user_files(out)
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    for extra in ([], ["--overwrite"]):
        proc = run("export", "coco", buildings, "-o", out, *extra, check=False)
        assert proc.returncode == 6, proc.stderr
        assert ("--overwrite" if not extra else "is not an export of eodkit") in proc.stderr
        assert files_of(out) == {Path("notes.txt"): b"keep me"}
    (out / "notes.txt").unlink()
    out.rmdir()
    out.write_text("a file")
    proc = run("export", "coco", buildings, "-o", out, "--overwrite", check=False)
    assert proc.returncode == 6 and "is not an export of eodkit" in proc.stderr
    assert out.read_text() == "a file"
    out.unlink()
    partial = tmp_path / "work" / "coco.partial"
    partial.mkdir()
    (partial / "mine.txt").write_text("mine")
    proc = run("export", "coco", buildings, "-o", out, check=False)
    assert proc.returncode == 6 and "was not made by eodkit" in proc.stderr
    assert files_of(partial) == {Path("mine.txt"): b"mine"} and not out.exists()
    shutil.rmtree(partial)
    check_no_leftovers(out, user)
    # an empty folder is replaced, and an earlier export with --overwrite
    out.mkdir()
    run("export", "coco", buildings, "-o", out, "--overwrite", "--split", "test")
    run("export", "coco", buildings, "-o", out, "--overwrite")
    assert files_of(out) == reference
    check_user_files(user)
    check_no_leftovers(out, user)


def test_exports_take_the_output_lock(buildings, tmp_path):
    """An export holds DIR.partial's lock as builds do: with it held by
    another process (this test) the export exits 6 naming its pid and
    touches nothing; once released, the export goes through."""
    out = tmp_path / "coco"
    partial = tmp_path / "coco.partial"
    partial.mkdir()
    (partial / ".eodkit-partial").touch()
    fd = os.open(partial / ".eodkit-lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        proc = run("export", "coco", buildings, "-o", out, check=False)
        assert proc.returncode == 6, proc.stderr
        assert f"coco.partial: in use by another eodkit process (pid {os.getpid()} on " \
            in proc.stderr
        assert sorted(p.name for p in partial.iterdir()) == [".eodkit-lock", ".eodkit-partial"]
    finally:
        os.close(fd)
    run("export", "coco", buildings, "-o", out)
    assert not partial.exists() and (out / ".eodkit-export").is_file()


@pytest.mark.parametrize("point, earlier, left", [
    ("export:0", False, None), ("export:10", True, "old"), ("commit", True, "old"),
    ("replaced", True, "new"), ("placed", False, "new")])
def test_a_killed_export_leaves_one_whole_export(buildings, reference, tmp_path, point,
                                                 earlier, left):
    """Killed while it writes its chips or puts its folder in place (the
    crash points of doc/scaling.md), an export leaves DIR holding the export
    it replaces or the new one, whole, or nothing when there was none, and
    nothing beside DIR but its partial folder; the next export puts things
    right."""
    out = tmp_path / "work" / "coco"
    user = place_user_files(out)
    old = None
    if earlier:
        run("export", "coco", buildings, "-o", out, "--split", "test")
        old = files_of(out)
    proc = run("export", "coco", buildings, "-o", out, "--overwrite", check=False,
               env={**os.environ, "EODKIT_CRASH_AT": point})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    want = {"old": old, "new": reference, None: None}[left]
    assert (files_of(out) if out.exists() else None) == want
    check_user_files(user)
    check_no_leftovers(out, user, allowed=[".partial"])
    run("export", "coco", buildings, "-o", out, "--overwrite")
    assert files_of(out) == reference
    check_no_leftovers(out, user)


def test_an_export_keeps_a_killed_builds_work(shared, buildings, tmp_path):
    """An export pointed at the output of a killed build finds that build's
    resumable work in DIR.partial: refused (exit 6), the work kept byte for
    byte, and --resume then finishes the build."""
    out = tmp_path / "sn"
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(spacenet(shared, "oriented: true"))
    proc = run("build", recipe, "-o", out, "-j", "1", check=False,
               env={**os.environ, "EODKIT_CRASH_AT": "unit:2"})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    partial = tmp_path / "sn.partial"
    work = files_of(partial)
    del work[Path(".eodkit-lock")]  # the pid of its last holder
    assert len(work) > 2
    proc = run("export", "coco", buildings, "-o", out, check=False)
    assert proc.returncode == 6, proc.stderr
    assert "sn.partial: holds unfinished work that is not an export" in proc.stderr
    kept = files_of(partial)
    del kept[Path(".eodkit-lock")]
    assert kept == work and not out.exists()
    run("build", recipe, "-o", out, "-j", "1", "--resume")
    assert (out / "collection.json").is_file()


def files_up_to(size):
    """For subprocess's preexec_fn: files may grow to SIZE bytes, a write
    beyond failing (EFBIG) instead of killing the process."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limit


@pytest.mark.parametrize("earlier", [False, True])
def test_a_failed_export_leaves_nothing_half_written(buildings, reference, tmp_path,
                                                     earlier):
    """An export that fails midway (here: files may not grow beyond the
    median image, so some chips' images cannot be written) exits with the
    error, leaves the export it was to replace as it was (or no DIR), and
    removes its partial folder."""
    sizes = sorted(len(b) for p, b in reference.items() if p.suffix == ".tif")
    limit = sizes[len(sizes) // 2]
    assert sizes[0] < limit < sizes[-1]
    out = tmp_path / "work" / "coco"
    user = place_user_files(out)
    old = None
    if earlier:
        run("export", "coco", buildings, "-o", out, "--split", "test")
        old = files_of(out)
    proc = run("export", "coco", buildings, "-o", out, "--overwrite", check=False,
               preexec_fn=files_up_to(limit))
    assert proc.returncode == 4, proc.stderr
    assert "coco.partial/images/" in proc.stderr and "File too large" in proc.stderr
    assert (files_of(out) if out.exists() else None) == old
    check_user_files(user)
    check_no_leftovers(out, user)


def test_export_refuses_what_it_cannot_do(demo_dataset, buildings, tmp_path):
    proc = run("export", "coco", demo_dataset, "-o", tmp_path / "x", check=False)
    assert proc.returncode == 2 and "has no objects (task: segmentation)" in proc.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.partial").exists()
    proc = run("export", "voc", buildings, "-o", tmp_path / "x", check=False)
    assert proc.returncode == 1 and "unknown export format 'voc'" in proc.stderr
    proc = run("export", "coco", buildings, "-o", tmp_path / "x", "--modality", "sar",
               check=False)
    assert proc.returncode == 2 and "no modality 'sar'" in proc.stderr
    proc = run("export", "coco", buildings, "-o", tmp_path / "x", "--split", "tset",
               check=False)
    assert proc.returncode == 2 and "no split 'tset'" in proc.stderr
    assert not (tmp_path / "x").exists()


def test_export_page_examples_run(tmp_path, shared):
    """The examples of doc/cmd/export.md, on the SpaceNet recipe of
    doc/recipe.md built in a scratch folder."""
    build_spacenet_recipe(tmp_path, shared)
    outputs = run_page_examples(SOURCE / "doc/cmd/export.md", tmp_path)
    page = (SOURCE / "doc/cmd/export.md").read_text()
    shown = page.split("The first prints one line per split:\n\n")[1].split("\n\n")[0]
    assert outputs[0] == "\n".join(line[4:] for line in shown.splitlines()) + "\n"
    assert (tmp_path / "yolo/labels/train").is_dir()
    shutil.rmtree(tmp_path / "coco")
