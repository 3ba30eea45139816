"""Open a dataset written by `eodkit build` and read its chips.

Reads only the files doc/format.md specifies: collection.json, stats.json,
provenance.json, index.gpkg (with the standard library's sqlite3, no GDAL)
and the `<split>/<array>-NNNNN.npy` shards (memory-mapped, never loaded
whole). Chip i of a split is the i-th chip of that split in index `fid`
order, which is also (shard, row) order: predictions for `eodkit eval` and
`eodkit mosaic` are aligned with the chips in exactly this order.
"""
import json
import sqlite3
from pathlib import Path

import numpy as np

from .normalize import Normalizer

PARTIAL_MARKER = ".eodkit-partial"
WEIGHT_COLUMNS = {"continent": "weight_continent", "class": "weight_class"}


class DatasetError(ValueError):
    """A folder is not a complete eodkit dataset, or a request does not fit
    the dataset (unknown split, array or column). The message names the
    path and says what to do."""


def _read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path}: cannot read it as JSON ({err})") from err


def _check_folder(path):
    """Raise DatasetError unless PATH is a complete dataset (doc/format.md:
    collection.json and provenance.json, and no partial marker)."""
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
    for name in ("collection.json", "provenance.json", "index.gpkg"):
        if not (path / name).is_file():
            raise DatasetError(f"{path}: not an eodkit dataset (no {name}); "
                               "build one with `eodkit build RECIPE -o FOLDER`")


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
        self.provenance = _read_json(self.path / "provenance.json")
        stats = self.path / "stats.json"
        self.stats = _read_json(stats) if stats.exists() else {}
        if "eodkit:modalities" not in self.collection:
            raise DatasetError(f"{self.path / 'collection.json'}: no eodkit:modalities; "
                               "not a collection written by `eodkit build`")
        self.name = self.collection.get("id")
        self.splits = list(self.collection.get("eodkit:splits", {}))
        self.modalities = {m["name"]: m for m in self.collection["eodkit:modalities"]}
        self.label = self.collection.get("eodkit:label")
        self.classes = {c["id"]: c["name"] for c in (self.label or {}).get("classes", [])}
        self.background = (self.label or {}).get("background", {}).get("id")
        self._declared = {row[1]: row[2] for row in self._query("pragma table_info(chips)")}
        if not self._declared:
            raise DatasetError(f"{self.path / 'index.gpkg'}: no table 'chips'")
        self.columns = [c for c in self._declared if c != "geom"]

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
            raise DatasetError(f"{self.path / 'index.gpkg'}: {err}") from err
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
        return Split(self, name)

    def normalizer(self, modality, method="meanstd", fill=0.0):
        """A `Normalizer` for MODALITY from this dataset's stats.json (see
        eodkit.normalize)."""
        return Normalizer(self.stats, modality, method, fill)


def _label_arrays(label):
    """{name: {"per", "dtype", "shape"}} of the label arrays collection.json's
    eodkit:label describes (datasets before its "arrays" have one: label)."""
    if not label:
        return {}
    if "arrays" in label:
        return label["arrays"]
    return {"label": {"per": "chip", "dtype": label["dtype"], "shape": label["shape"]}}


class Split:
    """The chips of one split, in chip order (index `fid` order).

    `chip(i)` returns zero-copy views into the memory-mapped shards;
    `read(indices)` gathers many chips with one fancy-index read per shard
    and array, the fast way to make batches. Shards are mapped lazily in
    each process, so a Split pickles small (DataLoader workers, spawn).
    Attributes: `dataset`, `name`, `arrays` (modality names, then the label
    arrays with one entry per chip: "label", and "instance" for instance
    segmentation), `object_arrays` (detection and instance segmentation:
    the arrays with one entry per object, "boxes", "box_class", ...; see
    `objects`), `shapes` ({array: shape of one chip, or of one object}),
    `dtypes` ({array: NumPy dtype})."""

    def __init__(self, dataset, name):
        self.dataset = dataset
        self.name = name
        labels = _label_arrays(dataset.label)
        self.object_arrays = [a for a, info in labels.items() if info["per"] == "object"]
        # box_range only says where each chip's objects are: objects() reads it
        self.arrays = list(dataset.modalities) + [
            a for a, info in labels.items() if info["per"] == "chip" and a != "box_range"]
        self.shapes = {m: tuple(info["shape"]) for m, info in dataset.modalities.items()}
        self.dtypes = {m: np.dtype(info["dtype"]) for m, info in dataset.modalities.items()}
        for a, info in labels.items():
            self.shapes[a] = tuple(info["shape"])
            self.dtypes[a] = np.dtype(info["dtype"])
        self._ranges = "box_range" if "box_range" in labels else None
        self._shard = dataset.column("shard", name)
        self._row = dataset.column("row", name)
        self._check_order()
        self._counts = np.bincount(self._shard)  # chips per shard
        self._maps = {}
        self._present = None  # {optional modality: bool array}, parsed when first asked

    def _check_order(self):
        """Chip order is (shard, row) order with rows counting from 0 in each
        shard (doc/format.md); refuse an index that says otherwise. One
        pass: shards never decrease, a chip that starts a shard has row 0
        and every other chip the row after its predecessor's."""
        shards, rows = self._shard, self._row
        starts = np.ones(len(shards), dtype=bool)
        starts[1:] = shards[1:] != shards[:-1]
        ordered = (not np.any(shards[1:] < shards[:-1]) and not np.any(rows[starts] != 0)
                   and not np.any(np.diff(rows)[~starts[1:]] != 1))
        if not ordered:
            raise DatasetError(f"{self.dataset.path / 'index.gpkg'}: chips of split "
                               f"{self.name!r} are not in (shard, row) order")

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
            try:
                mapped = np.asarray(np.load(path, mmap_mode="r"))
            except (OSError, ValueError) as err:
                raise DatasetError(f"{path}: cannot map it ({err})") from err
            rows = int(self._counts[k]) if 0 <= k < len(self._counts) else 0
            if array in self.object_arrays:
                ranges = self.shard(self._ranges, k)
                rows = int(ranges[-1].sum()) if len(ranges) else 0
            if mapped.shape != (rows,) + self.shapes[array]:
                raise DatasetError(f"{path}: shape {mapped.shape}, but the index and "
                                   f"collection.json say {(rows,) + self.shapes[array]}")
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
