"""Open a dataset written by `eodkit build` and read its chips.

Reads only the files doc/format.md specifies: collection.json, stats.json,
provenance.json, index.gpkg (with the standard library's sqlite3, no GDAL)
and the `<split>/<array>-NNNNN.npy` shards (memory-mapped, never loaded
whole). Chip i of a split is the i-th chip of that split in index `fid`
order, which is also (shard, row) order: predictions for `eodkit eval` and
`eodkit mosaic` are aligned with the chips in exactly this order.

Whatever is damaged raises DatasetError naming the file, with the checks
of doc/format.md ("What readers check") that the eodkit commands apply
too: the JSON files and the index when a dataset is opened, each shard's
header when it is first mapped.
"""
import json
import sqlite3
from pathlib import Path

import numpy as np

from .normalize import Normalizer

PARTIAL_MARKER = ".eodkit-partial"
WEIGHT_COLUMNS = {"continent": "weight_continent", "class": "weight_class"}
# what a dataset's files must be: the names of doc/format.md
DATASET_FILES = ("collection.json", "stats.json", "provenance.json", "index.gpkg")
DTYPES = ("uint8", "uint16", "int16", "uint32", "int32", "float32", "float64")
LAYOUT_COLUMNS = ("fid", "split", "shard", "row")
MAX_DIM = 1 << 31  # chip dimensions and chip bytes beyond these are not a dataset's
MAX_CHIP_BYTES = 1 << 40
MAX_OBJECTS = (1 << 32) - 1  # objects of a chip: at most one per object id
# the label arrays of doc/format.md, in its order: name: (per, dtypes, shape),
# dtypes None for the class ids' (eodkit:label's dtype), shape None for the
# chip shape of "label", "pair" for two of them ([2] + that shape)
LABEL_ARRAYS = {
    "label": ("chip", None, None),
    "instance": ("chip", ("uint16", "uint32"), None),
    "box_range": ("chip", ("int64",), [2]),
    "boxes": ("object", ("float32",), [4]),
    "obb": ("object", ("float32",), [8]),
    "box_class": ("object", None, []),
    "box_id": ("object", ("uint32",), []),
    "box_visible": ("object", ("float32",), []),
    "box_truncated": ("object", ("uint8",), []),
    "label_classes": ("chip", ("uint8", "uint16"), "pair"),
}
OBJECT_ARRAYS = ("box_range", "boxes", "obb", "box_class", "box_id", "box_visible",
                 "box_truncated")
TASK_ARRAYS = {"segmentation": ("label",), "classification": ("label",),
               "multilabel": ("label",), "detection": OBJECT_ARRAYS,
               "instance": ("label", "instance") + OBJECT_ARRAYS,
               "change": ("label", "label_classes"), "regression": ("label",)}
SQL_TYPES = {"integer": "an integer", "real": "a real number", "text": "text",
             "blob": "a blob", "null": "NULL"}


class DatasetError(ValueError):
    """A folder is not a complete, undamaged eodkit dataset, or a request
    does not fit the dataset (unknown split, array or column). The message
    names the file and says what is wrong."""


def _read_json(path):
    """The JSON object in file PATH."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError) as err:  # UnicodeDecodeError is a ValueError
        raise DatasetError(f"{path}: cannot read it as JSON ({err})") from err
    if not isinstance(value, dict):
        raise DatasetError(f"{path}: not a JSON object")
    return value


def _check_folder(path):
    """Raise DatasetError unless PATH is a complete dataset (doc/format.md:
    collection.json and provenance.json, and no partial marker) holding the
    files a reader reads."""
    partial = path.with_name(path.name + ".partial")
    if not path.exists():
        hint = (f"; {partial} is an unfinished build: finish it with "
                f"`eodkit build RECIPE --resume`" if partial.exists() else "")
        raise DatasetError(f"{path}: no such dataset folder{hint}")
    if not path.is_dir():
        raise DatasetError(f"{path}: not a folder; open the dataset folder "
                           "that `eodkit build` wrote")
    if (path / PARTIAL_MARKER).exists():
        raise DatasetError(f"{path}: unfinished build (it holds {PARTIAL_MARKER}); "
                           "finish it with `eodkit build RECIPE --resume` or rebuild it")
    for name in DATASET_FILES:
        if not (path / name).is_file():
            raise DatasetError(f"{path}: not an eodkit dataset (no {name}); "
                               "build one with `eodkit build RECIPE -o FOLDER`")


def _map_npy(path):
    """The .npy file PATH memory-mapped read-only."""
    if not path.is_file():
        raise DatasetError(f"{path}: missing (an incomplete dataset)")
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
        if magic != b"\x93NUMPY":
            raise DatasetError(f"{path}: not a NumPy .npy file")
        return np.load(path, mmap_mode="r")
    except DatasetError:
        raise
    except (OSError, ValueError, EOFError, OverflowError) as err:
        raise DatasetError(f"{path}: unreadable .npy file ({err})") from err


def _is_count(value):
    """Whether VALUE is a JSON integer (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_plain_name(name):
    """Whether NAME can be a file or folder name of a dataset."""
    return isinstance(name, str) and name != "" and not name.startswith(".") and "/" not in name


def _describe_array(where, entry, name, dims):
    """(shape, dtype) of one chip of array NAME from its collection.json
    ENTRY: a dtype eodkit writes and len(shape) in DIMS positive integers."""
    if not isinstance(entry.get("dtype"), str) or entry["dtype"] not in DTYPES:
        raise DatasetError(f"{where}: array {name!r} has no dtype eodkit writes "
                           f"({', '.join(DTYPES)})")
    shape = entry.get("shape")
    if not isinstance(shape, list) or len(shape) not in dims:
        raise DatasetError(f"{where}: array {name!r} has no chip shape")
    dtype = np.dtype(entry["dtype"])
    size = dtype.itemsize
    for n in shape:
        if not _is_count(n) or not 1 <= n <= MAX_DIM or size * n > MAX_CHIP_BYTES:
            raise DatasetError(f"{where}: array {name!r} has a chip shape that is not "
                               "positive integers of a sensible size")
        size *= n
    return tuple(shape), dtype


def _task_arrays(label):
    """The label arrays (names, doc/format.md order) eodkit:label LABEL's
    task has: "label" alone for datasets written before eodkit:label.arrays,
    "obb" only with `oriented: true`, "label_classes" only with two change
    sources (eodkit:label.change.sources 2)."""
    if "arrays" not in label:
        return ["label"]
    change = label.get("change")
    sources = change.get("sources") if isinstance(change, dict) else None
    return [a for a in TASK_ARRAYS.get(label["task"], ())
            if (a != "obb" or label.get("oriented") is True)
            and (a != "label_classes" or (_is_count(sources) and sources == 2))]


def _describe_labels(where, label):
    """The label arrays of eodkit:label LABEL ({name: (shape of one row,
    dtype, per)}, in eodkit:label.arrays order), checked as doc/format.md
    says: the arrays of the task, each with its per, dtype and shape (a
    regression target has no classes, and its values are float32)."""
    if "arrays" in label and not isinstance(label.get("task"), str):
        raise DatasetError(f"{where}: eodkit:label has no task")
    regression = label.get("task") == "regression"
    classes, background = label.get("classes"), label.get("background")
    if not regression and (not isinstance(classes, list) or not isinstance(
            background, dict) or not all(
            isinstance(c, dict) and _is_count(c.get("id")) and isinstance(c.get("name"), str)
            for c in classes + [background])):
        raise DatasetError(f"{where}: eodkit:label has no classes and background "
                           "({id, name} each)")
    if not isinstance(label.get("dtype"), str) or label["dtype"] not in DTYPES:
        raise DatasetError(f"{where}: eodkit:label has no dtype eodkit writes "
                           f"({', '.join(DTYPES)})")
    if regression and label["dtype"] != "float32":
        raise DatasetError(f"{where}: eodkit:label of task regression has dtype "
                           f"{label['dtype']}, not float32")
    want = _task_arrays(label)
    chip = list(_describe_array(where, label, "label", (0, 1, 2))[0]) if "label" in want else []
    entries = label.get("arrays", {"label": {"per": "chip", "dtype": label["dtype"],
                                             "shape": label.get("shape")}})
    if not isinstance(entries, dict):
        raise DatasetError(f"{where}: eodkit:label.arrays is not an object")
    arrays = {}
    for name, entry in entries.items():
        if name not in want:
            raise DatasetError(f"{where}: eodkit:label.arrays lists {name!r}, which task "
                               f"{label['task']!r} does not have")
        per, dtypes, shape = LABEL_ARRAYS[name]
        dtypes = dtypes or (label["dtype"],)
        shape = chip if shape is None else [2] + chip if shape == "pair" else shape
        entry = entry if isinstance(entry, dict) else {}
        have = entry.get("shape")
        if entry.get("per") != per or entry.get("dtype") not in dtypes or not isinstance(
                have, list) or not all(_is_count(n) for n in have) or have != shape:
            raise DatasetError(f"{where}: array {name!r} is not as doc/format.md defines it "
                               f"(per {per}, {' or '.join(dtypes)}, shape {shape})")
        arrays[name] = (tuple(shape), np.dtype(entry["dtype"]), per)
    for name in want:
        if name not in entries:
            raise DatasetError(f"{where}: eodkit:label.arrays has no array {name!r} (task "
                               f"{label['task']!r} has one)")
    return arrays


def _describe(where, collection):
    """What collection.json (WHERE) describes, checked as doc/format.md
    says: the arrays with one row per chip ({name: (chip shape, dtype)}:
    modalities, then the label arrays), those with one row per object
    (detection and instance segmentation), and the splits ({name: (chips,
    shards)})."""
    mods, label = collection.get("eodkit:modalities"), collection.get("eodkit:label")
    if not isinstance(mods, list):
        raise DatasetError(f"{where}: no eodkit:modalities; "
                           "not a collection written by `eodkit build`")
    if label is not None and not isinstance(label, dict):
        raise DatasetError(f"{where}: eodkit:label is not an object")
    arrays, objects = {}, {}
    for m in mods:
        name = m.get("name") if isinstance(m, dict) else None
        if not _is_plain_name(name) or name == "label":
            raise DatasetError(f"{where}: eodkit:modalities holds a modality without a "
                               "name that can be a file name")
        if name in arrays:
            raise DatasetError(f"{where}: modality {name!r} is listed twice")
        arrays[name] = _describe_array(where, m, name, (3, 4))
    for name, (shape, dtype, per) in (_describe_labels(where, label) if label else {}).items():
        if name in arrays:
            raise DatasetError(f"{where}: modality {name!r} has the name of a label array")
        (arrays if per == "chip" else objects)[name] = (shape, dtype)
    splits = collection.get("eodkit:splits")
    if not isinstance(splits, dict):
        raise DatasetError(f"{where}: no eodkit:splits object")
    counts = {}
    for name, info in splits.items():
        if not _is_plain_name(name):
            raise DatasetError(f"{where}: eodkit:splits names a split {name!r} that "
                               "cannot be a folder name")
        info = info if isinstance(info, dict) else {}
        chips, shards = info.get("chips"), info.get("shards")
        if not _is_count(chips) or not _is_count(shards):
            raise DatasetError(f"{where}: split {name!r} of eodkit:splits has no chips "
                               "and shards")
        if chips < 0 or shards < 0 or shards > chips:
            raise DatasetError(f"{where}: split {name!r} of eodkit:splits has impossible "
                               "chip and shard counts")
        counts[name] = (chips, shards)
    return arrays, objects, counts


def _check_ranges(path, ranges, objects):
    """Check box_range shard PATH (RANGES, (n, 2) int64) as doc/format.md
    says: each chip's objects follow the previous chip's, from row 0 of the
    per-object arrays, and number what the index's OBJECTS says."""
    first, count = ranges[:, 0], ranges[:, 1]
    bad_count = (count < 0) | (count > MAX_OBJECTS)
    ends = np.cumsum(np.where(bad_count, 0, count))
    starts = np.concatenate([[0], ends[:-1]])
    bad = bad_count | (first != starts) | (count != objects)
    if not bad.any():
        return
    r = int(np.argmax(bad))
    if bad_count[r]:
        raise DatasetError(f"{path}: row {r} says {count[r]} objects (0 to {MAX_OBJECTS} "
                           "can be)")
    if first[r] != starts[r]:
        raise DatasetError(f"{path}: row {r} says its objects start at row {first[r]} of "
                           f"the per-object arrays, not {starts[r]} (each chip's follow "
                           "the previous chip's)")
    raise DatasetError(f"{path}: row {r} says {count[r]} objects, but index.gpkg says "
                       f"{objects[r]}")


def _column_array(values, declared):
    """VALUES (from one SQLite column) as a NumPy array: float64 for REAL
    columns (NULL -> nan), int64 for integer columns without NULLs, else an
    object array (text, JSON text, NULLs kept as None)."""
    declared = declared.upper()
    if declared in ("REAL", "DOUBLE", "FLOAT"):
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if "INT" in declared and None not in values:
        return np.array(values, dtype=np.int64)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class Dataset:
    """A built dataset: its metadata, its chip index and its splits.

    Attributes: `path`, `collection` (collection.json), `stats`
    (stats.json), `provenance` (provenance.json), `name`, `splits` (split
    names in recipe order), `modalities` ({name: the collection's
    `eodkit:modalities` entry}), `label` (the `eodkit:label` entry or
    None), `classes` ({id: name}, background excluded), `background` (id
    or None), `columns` (the index columns, without the geometry)."""

    def __init__(self, path):
        self.path = Path(path).expanduser().resolve()
        _check_folder(self.path)
        self.collection = _read_json(self.path / "collection.json")
        self.stats = _read_json(self.path / "stats.json")
        self.provenance = _read_json(self.path / "provenance.json")
        self._arrays, self._objects, self._counts = _describe(self.path / "collection.json",
                                                              self.collection)
        self.name = self.collection.get("id")
        self.splits = list(self._counts)
        self.modalities = {m["name"]: m for m in self.collection["eodkit:modalities"]}
        self.label = self.collection.get("eodkit:label")
        self.classes = {c["id"]: c["name"] for c in (self.label or {}).get("classes", [])}
        self.background = (self.label or {}).get("background", {}).get("id")
        self._declared = {row[1]: row[2] for row in self._query("pragma table_info(chips)")}
        self._check_index()
        self.columns = [c for c in self._declared if c != "geom"]

    def _check_index(self):
        """Where index.gpkg puts the chips, checked as doc/format.md says (the
        checks and messages of the eodkit commands): every chip's split is
        text naming a split of collection.json, its fid, shard and row are
        integers, the chips of each split fill shards 0, 1, ... row after row
        from row 0 in fid order, as many chips and shards as collection.json
        says; for tasks with objects, every chip's objects count is an
        integer too. One scan of the index for the types and names, one per
        split for the layout, which the splits keep ({split: (shards, rows,
        objects or None)})."""
        index = self.path / "index.gpkg"
        if not self._declared:
            raise DatasetError(f"{index}: no layer 'chips' (not an eodkit chip index)")
        # tasks with objects: each chip's objects, which box_range must agree with
        counted = ("objects",) if "box_range" in self._arrays else ()
        for name in LAYOUT_COLUMNS + counted:
            if name not in self._declared:
                raise DatasetError(f"{index}: layer 'chips' has no column {name!r} "
                                   "(not an eodkit chip index)")
        wanted = ("integer", "text", "integer", "integer")
        marks = ", ".join("?" * len(self.splits))
        objects = "objects" if counted else "0"
        for fid, split, *types, count in self._query(
                "select fid, split, typeof(fid), typeof(split), typeof(shard), typeof(row), "
                f"typeof({objects}) from chips where typeof(fid) != 'integer' or "
                "typeof(split) != 'text' or typeof(shard) != 'integer' or "
                f"typeof(row) != 'integer' or typeof({objects}) != 'integer' or split not in "
                f"({marks}) order by fid limit 1", self.splits):
            for column, have, want in zip(LAYOUT_COLUMNS, types, wanted):
                if have == "null":
                    raise DatasetError(f"{index}: chip {fid} has no {column}")
                if have != want:
                    raise DatasetError(f"{index}: chip {fid} has a {column} that is "
                                       f"{SQL_TYPES[have]}, not {SQL_TYPES[want]}")
            if count == "null":
                raise DatasetError(f"{index}: chip {fid} has no objects count")
            if count != "integer":
                raise DatasetError(f"{index}: chip {fid} has an objects count that is "
                                   f"{SQL_TYPES[count]}, not an integer")
            raise DatasetError(f"{index}: chip {fid} is in split {split!r}, which "
                               f"collection.json does not list (its splits: "
                               f"{', '.join(self.splits)})")
        self._layout, disorder = {}, []
        for split in self.splits:
            at = np.array(self._query(f"select fid, shard, row, {objects} from chips where "
                                      "split = ? order by fid", (split,)),
                          dtype=np.int64).reshape(-1, 4)
            fids, shards, rows = at[:, 0], at[:, 1].copy(), at[:, 2].copy()
            # each chip at the next row of its predecessor's shard, or at row 0 of the next
            placed = np.ones(len(at), dtype=bool)
            placed[:1] = (shards[:1] == 0) & (rows[:1] == 0)
            placed[1:] = (((shards[1:] == shards[:-1]) & (rows[1:] == rows[:-1] + 1))
                          | ((shards[1:] == shards[:-1] + 1) & (rows[1:] == 0)))
            if not placed.all():
                i = int(np.argmin(placed))
                where = (f"its first chip {fids[i]} is at shard {shards[i]}, row {rows[i]}, "
                         "not shard 0, row 0" if i == 0 else
                         f"chip {fids[i]} is at shard {shards[i]}, row {rows[i]} after "
                         f"shard {shards[i - 1]}, row {rows[i - 1]}")
                disorder.append((fids[i], f"{index}: chips of split {split!r} are not in "
                                          f"(shard, row) order: {where}"))
            self._layout[split] = (shards, rows, at[:, 3].copy() if counted else None)
        if disorder:  # the first in fid order, as the commands report it
            raise DatasetError(min(disorder)[1])
        for split, (chips, shards) in self._counts.items():
            have = self._layout[split][0]
            have = (len(have), int(have[-1]) + 1 if len(have) else 0)
            if have != (chips, shards):
                raise DatasetError(f"{index}: split {split!r} has {have[0]} chips in "
                                   f"{have[1]} shards, but collection.json says {chips} "
                                   f"chips in {shards} shards")

    def __repr__(self):
        sizes = ", ".join(f"{s}: {self.collection['eodkit:splits'][s]['chips']}"
                          for s in self.splits)
        return f"<eodkit.Dataset {self.name!r} at {self.path} ({sizes})>"

    def _query(self, sql, params=()):
        """Rows of SQL run on index.gpkg, opened read-only for this call."""
        uri = self.path.joinpath("index.gpkg").as_uri() + "?mode=ro"
        con = sqlite3.connect(uri, uri=True)
        try:
            return con.execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise DatasetError(f"{self.path / 'index.gpkg'}: cannot read the chip index "
                               f"({err})") from err
        finally:
            con.close()

    def column(self, name, split=None):
        """Column NAME of the index as a NumPy array (see `_column_array`),
        one entry per chip in `fid` order; only SPLIT's chips when given."""
        if name not in self.columns:
            raise DatasetError(f"{self.path / 'index.gpkg'}: no column {name!r}; "
                               f"its columns are: {', '.join(self.columns)}")
        where, params = ("where split = ?", (split,)) if split is not None else ("", ())
        values = [r[0] for r in self._query(f'select "{name}" from chips {where} order by fid',
                                            params)]
        return _column_array(values, self._declared[name])

    def split(self, name):
        """The `Split` NAME. Raises DatasetError listing the splits there
        are when NAME is not one of them."""
        if name not in self.splits:
            raise DatasetError(f"{self.path}: no split {name!r}; "
                               f"its splits are: {', '.join(self.splits)}")
        if self._layout is None:  # unpickled: read (and check) the index again
            self._check_index()
        return Split(self, name)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_layout"] = None  # every split's chips: a pickled Split carries its own
        return state

    def normalizer(self, modality, method="meanstd", fill=0.0):
        """A `Normalizer` for MODALITY from this dataset's stats.json (see
        eodkit.normalize)."""
        return Normalizer(self.stats, modality, method, fill)


class Split:
    """The chips of one split, in chip order (index `fid` order).

    `chip(i)` returns zero-copy views into the memory-mapped shards;
    `read(indices)` gathers many chips with one fancy-index read per shard
    and array, the fast way to make batches. Shards are mapped lazily in
    each process, so a Split pickles small (DataLoader workers, spawn).
    Attributes: `dataset`, `name`, `arrays` (modality names, then the label
    arrays with one entry per chip: "label", "instance" for instance
    segmentation, "label_classes" for a change task with two label
    sources), `object_arrays` (detection and instance segmentation:
    the arrays with one entry per object, "boxes", "box_class", ...; see
    `objects`), `shapes` ({array: shape of one chip, or of one object}),
    `dtypes` ({array: NumPy dtype})."""

    def __init__(self, dataset, name):
        self.dataset = dataset
        self.name = name
        # box_range only says where each chip's objects are: objects() reads it
        self.arrays = [a for a in dataset._arrays if a != "box_range"]
        self.object_arrays = list(dataset._objects)
        self.shapes = {a: shape for a, (shape, _) in dataset._arrays.items()}
        self.dtypes = {a: dtype for a, (_, dtype) in dataset._arrays.items()}
        for a, (shape, dtype) in dataset._objects.items():
            self.shapes[a], self.dtypes[a] = shape, dtype
        self._ranges = "box_range" if "box_range" in dataset._arrays else None
        # checked on opening; the objects of each chip for tasks with objects
        self._shard, self._row, self._objects = dataset._layout[name]
        self._counts = np.bincount(self._shard)  # chips per shard
        self._maps = {}
        self._present = None  # {optional modality: bool array}, parsed when first asked

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_maps"] = {}
        state["_present"] = None
        return state

    def __len__(self):
        return len(self._shard)

    def __repr__(self):
        return f"<eodkit.Split {self.name!r}: {len(self)} chips, arrays {self.arrays}>"

    def shard(self, array, k):
        """Shard K of ARRAY as a read-only memory-mapped ndarray: (n_k, ...)
        for arrays with one entry per chip, (objects of the shard's chips,
        ...) for per-object arrays."""
        key = (array, int(k))
        if key not in self._maps:
            known = self.arrays + self.object_arrays + ([self._ranges] if self._ranges else [])
            if array not in known:
                raise DatasetError(f"{self.dataset.path}: no array {array!r}; "
                                   f"the arrays are: {', '.join(known)}")
            path = self.dataset.path / self.name / f"{array}-{int(k):05d}.npy"
            mapped = _map_npy(path)
            if mapped.flags.f_contiguous and not mapped.flags.c_contiguous:
                raise DatasetError(f"{path}: a Fortran-order array (save it with "
                                   "numpy.ascontiguousarray)")
            if mapped.dtype != self.dtypes[array]:
                raise DatasetError(f"{path}: elements of type {mapped.dtype.str!r}, but "
                                   f"collection.json says {self.dtypes[array].name}")
            rows = int(self._counts[k]) if 0 <= k < len(self._counts) else 0
            if array in self.object_arrays:  # the objects box_range gives the shard
                ranges = self.shard(self._ranges, k)
                rows = int(ranges[-1].sum()) if len(ranges) else 0
            if mapped.shape != (rows,) + self.shapes[array]:
                raise DatasetError(f"{path}: shape {mapped.shape}, but the index and "
                                   f"collection.json say {(rows,) + self.shapes[array]}")
            mapped = np.asarray(mapped)
            if array == self._ranges:
                _check_ranges(path, mapped, self._objects[self._shard == k])
            self._maps[key] = mapped
        return self._maps[key]

    def positions(self, indices):
        """INDICES (integers, a boolean mask with one entry per chip, or a
        slice) as an int64 array of positions in this split, negative ones
        counted from the end. Raises IndexError when one is out of range,
        TypeError for other kinds of index."""
        n = len(self)
        if isinstance(indices, slice):
            return np.arange(n)[indices]
        pos = np.asarray(indices).reshape(-1)
        if pos.dtype == bool:
            if pos.shape != (n,):
                raise IndexError(f"a boolean mask over split {self.name!r} needs {n} "
                                 f"entries, not {pos.shape[0]}")
            return np.flatnonzero(pos)
        if pos.size and not np.issubdtype(pos.dtype, np.integer):
            raise TypeError(f"chip indices must be integers, not {pos.dtype}")
        pos = pos.astype(np.int64)
        if np.any((pos < -n) | (pos >= n)):
            raise IndexError(f"chip index out of range for split {self.name!r} "
                             f"of {n} chips")
        return np.where(pos < 0, pos + n, pos)

    def chip(self, i):
        """Chip I as {array: ndarray}: zero-copy, read-only views of the
        shards, shaped (C, H, W), (T, C, H, W) or the label's shape."""
        (i,) = self.positions([i])
        return {a: self.shard(a, self._shard[i])[self._row[i]] for a in self.arrays}

    def read(self, indices, arrays=None):
        """Chips INDICES (see `positions`: integers, a boolean mask or a
        slice) of ARRAYS (default: all) as {array: ndarray (len, ...)}, in
        the order given: new, writable arrays gathered with one fancy-index
        read per shard and array."""
        return self._read(self.positions(indices), arrays)

    def _read(self, pos, arrays=None):
        """`read` of POS, positions already checked by `positions`."""
        shards, rows = self._shard[pos], self._row[pos]
        # group the batch by shard once: (shard, where in the batch, its rows there)
        order = np.argsort(shards, kind="stable")
        used, first = np.unique(shards[order], return_index=True)
        groups = [(k, sel, rows[sel]) for k, sel in zip(used, np.split(order, first[1:]))]
        out = {}
        for array in arrays or self.arrays:
            if len(groups) == 1:
                out[array] = self.shard(array, used[0])[rows]
                continue
            batch = np.empty((len(pos),) + self.shapes[array], self.dtypes[array])
            for k, sel, at in groups:
                batch[sel] = self.shard(array, k)[at]
            out[array] = batch
        return out

    def objects(self, i, arrays=None):
        """The objects (boxes) of chip I, detection and instance
        segmentation datasets: {array: ndarray (k, ...)} of the per-object
        ARRAYS (default all of `object_arrays`), zero-copy views of the
        shards. "boxes" are x_min, y_min, x_max, y_max in pixels of the chip
        (doc/format.md), "box_class" their class ids, "box_id" the object
        ids the "instance" mask holds."""
        if self._ranges is None:
            raise DatasetError(f"{self.dataset.path}: no objects (task "
                               f"{(self.dataset.label or {}).get('task')}); detection "
                               "and instance datasets have them")
        (i,) = self.positions([i])
        shard, row = self._shard[i], self._row[i]
        first, count = (int(v) for v in self.shard(self._ranges, shard)[row])
        return {a: self.shard(a, shard)[first:first + count]
                for a in (arrays or self.object_arrays)}

    def read_objects(self, indices, arrays=None):
        """The objects of chips INDICES (see `positions`), a list of dicts as
        `objects` returns them, in the order given."""
        return [self.objects(i, arrays) for i in self.positions(indices)]

    def column(self, name):
        """Index column NAME for this split's chips, in chip order (see
        Dataset.column)."""
        return self.dataset.column(name, self.name)

    def row(self, i):
        """Every index column of chip I (geometry left out) as a dict."""
        (i,) = self.positions([i])
        names = ", ".join(f'"{c}"' for c in self.dataset.columns)
        values = self.dataset._query(
            f"select {names} from chips where split = ? order by fid limit 1 offset ?",
            (self.name, int(i)))[0]
        return dict(zip(self.dataset.columns, values))

    def chip_ids(self):
        """The chips' `chip_id`s (int64 array, chip order)."""
        return self.column("chip_id")

    def geotransforms(self):
        """Each chip's GDAL geotransform, a float64 array (n, 6): pixel
        (col, row) of chip i lies at x = g[0] + col * g[1], y = g[3] + row * g[5]."""
        return np.array([json.loads(g) for g in self.column("geotransform")],
                        dtype=np.float64).reshape(len(self), 6)

    def present(self, modality):
        """Whether each chip holds data of MODALITY (bool array): always
        true for required modalities; for `required: false` ones, the
        index's `present` flag (absent chips hold nodata)."""
        if modality not in self.dataset.modalities:
            raise DatasetError(f"{self.dataset.path}: no modality {modality!r}; "
                               f"its modalities are: {', '.join(self.dataset.modalities)}")
        if self.dataset.modalities[modality].get("required", True):
            return np.ones(len(self), dtype=bool)
        if self._present is None:  # query and parse the column once for every modality
            optional = [m for m, info in self.dataset.modalities.items()
                        if not info.get("required", True)]
            parsed = [json.loads(p) if p else {} for p in self.column("present")]
            self._present = {m: np.array([flags.get(m, 1) for flags in parsed], dtype=bool)
                             for m in optional}
        return self._present[modality].copy()

    def weights(self, by="continent"):
        """Sampling weights (float64, chip order) that even out continents
        (BY="continent") or classes (BY="class") within the split; they sum
        to the split's chip count (doc/audit.md)."""
        if by not in WEIGHT_COLUMNS:
            raise DatasetError(f"no weights by {by!r}; use one of: "
                               f"{', '.join(WEIGHT_COLUMNS)}")
        weights = self.column(WEIGHT_COLUMNS[by])
        if np.isnan(weights).any():
            raise DatasetError(f"{self.dataset.path / 'index.gpkg'}: chips without "
                               f"{WEIGHT_COLUMNS[by]}; run `eodkit audit` on the dataset")
        return weights
