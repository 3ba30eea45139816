"""Per-band normalisation from a dataset's stats.json (training split only,
nodata excluded; doc/format.md): standardise with mean/std, or clip to a
percentile range and scale it to [0, 1]."""
import numpy as np

# method -> (low percentile, high percentile); None means mean/std
METHODS = {"meanstd": None, "p2-p98": ("2", "98"), "p1-p99": ("1", "99")}


class Normalizer:
    """Normalise chips of one modality, band by band.

    Methods: "meanstd": (x - mean) / std (std 0 counts as 1);
    "p2-p98" / "p1-p99": clip x to [p_lo, p_hi], then (x - p_lo) /
    (p_hi - p_lo) (an empty range counts as 1). Values equal to the
    modality's nodata, NaN and +-inf (nodata in every statistic of
    stats.json too) become FILL (0.0: the mean, or the low
    end of the range). Attributes: `modality`, `method`, `fill`, `nodata`
    (or None), `offset` and `scale` (float64 arrays, one per band: the
    result is (x - offset) / scale after clipping to [`low`, `high`])."""

    def __init__(self, stats, modality, method="meanstd", fill=0.0):
        """STATS: stats.json as a dict; MODALITY: its name. Raises
        ValueError for an unknown method or modality, or a band without
        statistics (no valid pixel in the training split)."""
        if method not in METHODS:
            raise ValueError(f"unknown normalisation {method!r}; use one of: "
                             f"{', '.join(METHODS)}")
        if modality not in stats.get("modalities", {}):
            raise ValueError(f"stats.json has no modality {modality!r}; it has: "
                             f"{', '.join(stats.get('modalities', {}))}")
        entry = stats["modalities"][modality]
        self.modality, self.method, self.fill = modality, method, fill
        self.nodata = entry.get("nodata")
        bands = entry["bands"]
        for band in bands:
            if band["mean"] is None:
                raise ValueError(f"stats.json: band {band['name']!r} of {modality!r} has "
                                 "no valid pixel in the training split")
        if METHODS[method] is None:
            self.low = self.high = None
            self.offset = np.array([b["mean"] for b in bands], dtype=np.float64)
            self.scale = np.array([b["std"] for b in bands], dtype=np.float64)
        else:
            lo, hi = METHODS[method]
            self.low = np.array([b["percentiles"][lo] for b in bands], dtype=np.float64)
            self.high = np.array([b["percentiles"][hi] for b in bands], dtype=np.float64)
            self.offset, self.scale = self.low, self.high - self.low
        self.scale = np.where(self.scale > 0, self.scale, 1.0)

    def __repr__(self):
        return f"<eodkit.Normalizer {self.modality!r} {self.method}>"

    def __call__(self, x):
        """X: chips of the modality, bands on axis -3 ((C, H, W), (T, C, H,
        W), (n, C, H, W) or (n, T, C, H, W)). Returns a new float32 array
        of the same shape."""
        x = np.asarray(x)
        per_band = (-1, 1, 1)
        values = x.astype(np.float64)
        invalid = ~np.isfinite(values)
        if self.nodata is not None:
            invalid |= x == self.nodata
        if self.low is not None:
            values = np.clip(values, self.low.reshape(per_band), self.high.reshape(per_band))
        out = (values - self.offset.reshape(per_band)) / self.scale.reshape(per_band)
        out[invalid] = self.fill
        return out.astype(np.float32)
