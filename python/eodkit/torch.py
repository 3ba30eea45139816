"""PyTorch side of eodkit: a map-style Dataset over a split that reads whole
batches with one gather per shard, a DataLoader that hands whole batches to
its workers, and a sampler from the per-chip sampling weights.

Importing this module imports torch; `import eodkit` alone does not.
"""
import numpy as np
import torch
from torch.utils.data import (BatchSampler, DataLoader, RandomSampler, SequentialSampler,
                              WeightedRandomSampler, default_collate)

from .dataset import Split

# dtypes torch (before 2.3) has no tensor type for: widened losslessly
_WIDER = {np.dtype(np.uint16): np.int32, np.dtype(np.uint32): np.int64}


def _tensor(array):
    """ARRAY (NumPy) as a tensor, widened when torch lacks its dtype."""
    array = np.ascontiguousarray(array, dtype=_WIDER.get(array.dtype, array.dtype))
    return torch.from_numpy(array)


class ChipDataset(torch.utils.data.Dataset):
    """The chips of one split as a torch Dataset.

    `ds[i]` is one sample; `ds[[i, j, ...]]` (any sequence or array of
    positions) is a whole batch read with one gather per shard: the same
    dict with a leading batch axis. A sample is a dict:

    - one entry per modality: a float32 tensor when normalised, else the
      stored values (uint16 widened to int32, uint32 to int64), shaped
      (C, H, W) or (T, C, H, W) for time stacks;
    - "label" (when the dataset has a label array): int64, the label's
      shape; a regression target is float32 (n, H, W) with NaN where it is
      unknown; "instance" (instance segmentation): int64 instance ids;
      "label_classes" (task change with two label sources): int64
      (2, H, W), each pixel's class before and after;
    - "pair" (task change with `labels.pair`): the two modalities stacked
      as (T=2, C, H, W), before then after, like a time pair modality;
    - "target" (detection and instance segmentation): the chip's objects as
      torchvision's detection models take them, {"boxes": float32 (N, 4)
      x_min, y_min, x_max, y_max in pixels, "labels": int64 (N,) class ids,
      "masks": uint8 (N, H, W) (instance segmentation only), "object_ids":
      int64 (N,), "truncated": bool (N,)}; a batch holds a list of them,
      one per chip (use `collate` with a plain DataLoader);
    - "present": {modality: bool}, False where an optional modality has
      no data (its pixels then hold nodata, or FILL once normalised);
    - "chip_id" (int64), "index" (int64, position in the split: the row of
      the PRED array `eodkit eval` reads) and "geotransform" (float64, 6).

    `__getitems__` lets a plain `DataLoader(ds, batch_size=B)` read each
    batch with one gather too; `loader()` below skips the per-sample split
    and re-stacking altogether."""

    def __init__(self, split, arrays=None, normalize=None):
        """SPLIT: an eodkit Split. ARRAYS: the arrays to return (default
        all: modalities and "label"). NORMALIZE: None, a method name for
        every modality ("meanstd", "p2-p98", "p1-p99"), or {modality: method
        or eodkit.Normalizer}; statistics come from the dataset's stats.json."""
        if not isinstance(split, Split):
            raise TypeError(f"ChipDataset needs an eodkit Split, not {type(split).__name__}")
        self.split = split
        self.arrays = list(arrays or split.arrays)
        modalities = [a for a in self.arrays if a in split.dataset.modalities]
        if isinstance(normalize, str):
            normalize = {m: normalize for m in modalities}
        self.normalizers = {m: (split.dataset.normalizer(m, how) if isinstance(how, str) else how)
                            for m, how in (normalize or {}).items()}
        self._present = {m: split.present(m) for m in modalities}
        label = split.dataset.label or {}
        self._float_label = label.get("task") == "regression"
        pair = (label.get("change") or {}).get("pair")
        self._pair = pair if pair and all(m in self.arrays for m in pair) else None
        self._chip_ids = split.chip_ids()
        self._geotransforms = split.geotransforms()

    def __len__(self):
        return len(self.split)

    def batch(self, indices):
        """Chips INDICES as one batch dict (see the class doc), read with
        one gather per shard and array."""
        pos = self.split.positions(indices)
        arrays = self.split._read(pos, self.arrays)
        batch = {}
        for name, values in arrays.items():
            if name == "label" and self._float_label:
                batch[name] = torch.from_numpy(np.ascontiguousarray(values, np.float32))
            elif name in ("label", "instance", "label_classes"):
                batch[name] = torch.from_numpy(values.astype(np.int64))
            elif name in self.normalizers:
                batch[name] = torch.from_numpy(self.normalizers[name](values))
            else:
                batch[name] = _tensor(values)
        if self._pair is not None:
            batch["pair"] = torch.stack([batch[self._pair[0]], batch[self._pair[1]]], dim=1)
        if self.split.object_arrays:
            batch["target"] = [self._target(i) for i in pos]
        batch["present"] = {m: torch.from_numpy(p[pos]) for m, p in self._present.items()}
        batch["chip_id"] = torch.from_numpy(self._chip_ids[pos])
        batch["index"] = torch.from_numpy(pos)
        batch["geotransform"] = torch.from_numpy(self._geotransforms[pos])
        return batch

    def _target(self, i):
        """The objects of chip I as a torchvision detection target."""
        objects = self.split.objects(i)
        target = {
            "boxes": torch.from_numpy(np.array(objects["boxes"], dtype=np.float32)),
            "labels": torch.from_numpy(objects["box_class"].astype(np.int64)),
            "object_ids": torch.from_numpy(objects["box_id"].astype(np.int64)),
            "truncated": torch.from_numpy(objects["box_truncated"].astype(bool)),
        }
        if "instance" in self.split.arrays:
            ids = self.split.chip(i)["instance"]
            masks = ids[None, :, :] == objects["box_id"][:, None, None]
            target["masks"] = torch.from_numpy(masks.astype(np.uint8))
        return target

    def __getitem__(self, index):
        if np.ndim(index) == 0 and not isinstance(index, slice):
            return _take(self.batch([index]), 0)
        return self.batch(index)

    def __getitems__(self, indices):
        """What DataLoader (with batch_size) calls: one gather for the whole
        batch, then the samples as views for the default collate."""
        batch = self.batch(indices)
        return [_take(batch, k) for k in range(len(indices))]


def _take(batch, k):
    """Sample K of BATCH (nested dict of tensors with a batch axis; lists,
    such as detection targets, hold one entry per sample)."""
    return {name: (_take(v, k) if isinstance(v, dict) else v[k]) for name, v in batch.items()}


def collate(samples):
    """A DataLoader's collate_fn for ChipDataset samples: what has the same
    shape in every sample is stacked as the default collate does; detection
    targets, whose number of boxes differs from chip to chip, stay a list
    with one dict per sample (what torchvision's detection models take)."""
    targets = [s["target"] for s in samples] if samples and "target" in samples[0] else None
    batch = default_collate([{k: v for k, v in s.items() if k != "target"} for s in samples])
    if targets is not None:
        batch["target"] = targets
    return batch


def loader(dataset, batch_size, sampler=None, shuffle=False, drop_last=False, generator=None,
           **kwargs):
    """A DataLoader over DATASET (a ChipDataset) whose workers each read
    whole batches (`dataset[list of indices]`) and pass them on as they
    are: no per-sample reads, no collate.

    SAMPLER: a per-chip sampler (e.g. `weighted_sampler(...)`, a
    DistributedSampler); default sequential, or random with SHUFFLE
    (drawn from GENERATOR, a torch.Generator, when given). KWARGS go to
    DataLoader (num_workers, pin_memory, ...). Batches are the dicts
    ChipDataset.batch returns."""
    if sampler is None:
        sampler = (RandomSampler(dataset, generator=generator) if shuffle
                   else SequentialSampler(dataset))
    batches = BatchSampler(sampler, batch_size, drop_last)
    return DataLoader(dataset, batch_size=None, sampler=batches, generator=generator, **kwargs)


def weighted_sampler(split, by="continent", num_samples=None, replacement=True, generator=None):
    """A WeightedRandomSampler over SPLIT's chips (positions in the split)
    using the index's `weight_continent` (BY="continent") or
    `weight_class` (BY="class"): every continent, or every dominant class,
    is drawn about equally often. NUM_SAMPLES defaults to the split's size."""
    weights = torch.as_tensor(split.weights(by), dtype=torch.double)
    return WeightedRandomSampler(weights, num_samples or len(split), replacement=replacement,
                                 generator=generator)
