"""COCO's detection metrics written out again in Python from their
definitions (cocodataset.org, "Detection evaluation"), to hold eodkit's C
implementation against: pycocotools is not in Debian 12.

Per image and category, detections are taken best score first (equal
scores in their order, at most 100) and each, per IoU threshold (.50 to
.95 by .05), claims the unclaimed ground truth it overlaps most (at least
the threshold; among equals the last); ground truths outside an area range
are claimed only when no other is left, and detections matching them, or
matching nothing while outside the range, do not count. Per category the
detections of all images are ranked by score, precision is made
non-increasing from the right and read at the first rank reaching each of
101 recall points (0 beyond the recall reached). AP averages those over
points, thresholds and categories; AR averages the recall reached."""
import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
AREAS = {"all": (0, 1e10), "small": (0, 32 ** 2), "medium": (32 ** 2, 96 ** 2),
         "large": (96 ** 2, 1e10)}
MAX_DETS = (1, 10, 100)


def box_iou(d, g):
    """Intersection over union of two [x, y, width, height] boxes."""
    w = min(d[0] + d[2], g[0] + g[2]) - max(d[0], g[0])
    h = min(d[1] + d[3], g[1] + g[3]) - max(d[1], g[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / (d[2] * d[3] + g[2] * g[3] - inter)


def mask_iou(a, b):
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


def match_image(gts, dts, iou):
    """One image and category: GTS and DTS are lists of dicts with "area"
    (and DTS "score", in file order); IOU(d, g) their overlap. Returns per
    area range name (scores, matched[T, D], ignored[T, D], ground truths
    in range)."""
    dts = sorted(dts, key=lambda d: -d["score"])[:100]  # sorted() is stable
    overlap = np.array([[iou(d, g) for g in gts] for d in dts]).reshape(len(dts), len(gts))
    out = {}
    for name, (lo, hi) in AREAS.items():
        out_of_range = [not lo <= g["area"] <= hi for g in gts]
        candidates = sorted(range(len(gts)), key=lambda j: out_of_range[j])
        matched = np.zeros((len(IOU_THRESHOLDS), len(dts)), bool)
        ignored = np.zeros_like(matched)
        for t, threshold in enumerate(IOU_THRESHOLDS):
            claimed = set()
            for i in range(len(dts)):
                best, choice = min(threshold, 1 - 1e-10), None
                for j in candidates:
                    if j in claimed:
                        continue
                    if choice is not None and not out_of_range[choice] and out_of_range[j]:
                        break
                    if overlap[i, j] >= best:
                        best, choice = overlap[i, j], j
                if choice is not None:
                    claimed.add(choice)
                    matched[t, i] = True
                    ignored[t, i] = out_of_range[choice]
        outside = np.array([not lo <= d["area"] <= hi for d in dts], bool)
        ignored |= ~matched & outside[None, :]
        out[name] = (np.array([d["score"] for d in dts]), matched, ignored,
                     len(gts) - sum(out_of_range))
    return out


def precision_recall(matches, area, max_det):
    """Precision at the 101 recall points per threshold [T, 101] and the
    recall reached [T] of one category over its images' MATCHES (image id
    order); all -1 when there is nothing to find."""
    parts = [m[area] for m in matches]
    found = sum(p[3] for p in parts)
    if not parts or found == 0:
        return -np.ones((10, 101)), -np.ones(10)
    scores = np.concatenate([p[0][:max_det] for p in parts])
    order = np.argsort(-scores, kind="stable")
    matched = np.concatenate([p[1][:, :max_det] for p in parts], axis=1)[:, order]
    ignored = np.concatenate([p[2][:, :max_det] for p in parts], axis=1)[:, order]
    tp = np.cumsum(matched & ~ignored, axis=1).astype(float)
    fp = np.cumsum(~matched & ~ignored, axis=1).astype(float)
    precision = np.zeros((10, 101))
    recall = np.zeros(10)
    for t in range(10):
        rc = tp[t] / found
        pr = tp[t] / (tp[t] + fp[t] + np.spacing(1))
        recall[t] = rc[-1] if len(rc) else 0
        pr = np.maximum.accumulate(pr[::-1])[::-1] if len(pr) else pr
        at = np.searchsorted(rc, RECALL_POINTS, side="left")
        reached = at < len(pr)
        precision[t, reached] = pr[at[reached]]
    return precision, recall


def mean(values):
    values = np.asarray(values, dtype=float)
    values = values[values > -1]
    return float(values.mean()) if values.size else None


def evaluate(images, categories, threshold=0.5):
    """IMAGES: {image id: {category: (gts, dts, iou function)}}; returns
    the metrics eodkit eval reports (None where undefined)."""
    matches = {c: [match_image(*images[i][c]) for i in sorted(images) if c in images[i]
                   and (images[i][c][0] or images[i][c][1])] for c in categories}
    p = {(c, a, m): precision_recall(matches[c], a, m) for c in categories
         for a in AREAS for m in MAX_DETS}
    out = {
        "map": mean([p[c, "all", 100][0] for c in categories]),
        "map_50": mean([p[c, "all", 100][0][0] for c in categories]),
        "map_75": mean([p[c, "all", 100][0][5] for c in categories]),
        "map_small": mean([p[c, "small", 100][0] for c in categories]),
        "map_medium": mean([p[c, "medium", 100][0] for c in categories]),
        "map_large": mean([p[c, "large", 100][0] for c in categories]),
        "mar_1": mean([p[c, "all", 1][1] for c in categories]),
        "mar_10": mean([p[c, "all", 10][1] for c in categories]),
        "mar_100": mean([p[c, "all", 100][1] for c in categories]),
        "mar_small": mean([p[c, "small", 100][1] for c in categories]),
        "mar_medium": mean([p[c, "medium", 100][1] for c in categories]),
        "mar_large": mean([p[c, "large", 100][1] for c in categories]),
        "classes": {c: {"ap": mean(p[c, "all", 100][0]), "ap_50": mean(p[c, "all", 100][0][0]),
                        "ap_75": mean(p[c, "all", 100][0][5])} for c in categories},
    }
    tp = fp = found = 0
    for c in categories:
        for scores, matched, ignored, n in (m["all"] for m in matches[c]):
            keep = (scores >= threshold) & ~ignored[0]
            tp += int(np.count_nonzero(keep & matched[0]))
            fp += int(np.count_nonzero(keep & ~matched[0]))
            found += n
    out["precision"] = tp / (tp + fp) if tp + fp else None
    out["recall"] = tp / found if found else None
    out["f1"] = 2 * tp / (tp + fp + found) if tp + fp + found else None
    return out
