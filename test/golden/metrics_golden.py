"""Golden values for the evaluation metrics (Microsoft.ML.UFlow.Metrics), METHOD.md Part B.

Run with Debian's interpreter (numpy, scipy, scikit-learn):

    /usr/bin/python3 test/golden/metrics_golden.py

Writes test/Microsoft.ML.UFlow.Tests/Fixtures/Metrics/metrics_<case>.json. Each file holds seeded random
score maps (float32), binary ground-truth masks, a few normal "training" maps, and the expected values:

* image AUROC: sklearn.metrics.roc_auc_score on (max of map, mask has any defect pixel);
* pixel AUROC: sklearn.metrics.roc_auc_score over every pixel of every image;
* AUPRO: a transcription of the MVTec AD official definition (compute_pro + trapezoid, FPR limit 0.3, / 0.3),
  components labelled with scipy.ndimage.label and a 3x3 structure (8-connectivity);
* pixel F1-max: max over sklearn.metrics.precision_recall_curve of 2PR/(P+R) (0 where P+R = 0);
* mIoU (U-Flow, miou.py) over a threshold grid, float64, eps = 2.22e-16, P = map > t, G = mask > 0.5;
* fair threshold (U-Flow evaluate.py get_fair_threshold): sklearn.metrics.roc_curve on all-negative labels
  (default drop_intermediate=True), then scipy.interpolate.interp1d(fpr, thresholds)(target_fpr).
"""
import json
import os
import warnings

import numpy as np
from scipy import ndimage
from scipy.interpolate import interp1d
from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Microsoft.ML.UFlow.Tests", "Fixtures", "Metrics")
FAIR_TARGETS = [1.0 / 65536, 1e-3, 0.01, 0.0123, 0.1, 0.37, 0.5, 0.9]


# ---------------------------------------------------------------- official AUPRO (transcribed from the definition)
def trapezoid(x, y, x_max):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    correction = 0.0
    if x_max not in x:
        ins = int(np.searchsorted(x, x_max, side="right"))  # bisect.bisect(x, x_max)
        assert 0 < ins < len(x)
        y_interp = y[ins - 1] + (y[ins] - y[ins - 1]) * (x_max - x[ins - 1]) / (x[ins] - x[ins - 1])
        correction = 0.5 * (y_interp + y[ins - 1]) * (x_max - x[ins - 1])
    mask = x <= x_max
    x = x[mask]
    y = y[mask]
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * (x[1:] - x[:-1])) + correction)


def compute_pro(maps, masks):
    structure = np.ones((3, 3), dtype=int)
    fp_changes = np.zeros(maps.shape, dtype=np.uint32)
    pro_changes = np.zeros(maps.shape, dtype=np.float64)
    num_ok = 0
    num_regions = 0
    for i, gt in enumerate(masks):
        labeled, n = ndimage.label(gt, structure)
        num_regions += n
        ok = labeled == 0
        num_ok += int(ok.sum())
        fp_changes[i][ok] = 1
        for k in range(n):
            region = labeled == (k + 1)
            pro_changes[i][region] = 1.0 / region.sum()
    scores = maps.ravel()
    order = np.argsort(scores, kind="stable")[::-1]
    scores_sorted = scores[order]
    fprs = np.cumsum(fp_changes.ravel()[order], dtype=np.float64) / num_ok
    pros = np.cumsum(pro_changes.ravel()[order], dtype=np.float64) / num_regions
    keep = np.append(np.diff(scores_sorted) != 0, True)
    fprs = np.clip(fprs[keep], None, 1.0)
    pros = np.clip(pros[keep], None, 1.0)
    fprs = np.concatenate([[0.0], fprs, [1.0]])
    pros = np.concatenate([[0.0], pros, [1.0]])
    return fprs, pros, num_regions


def aupro(maps, masks, limit=0.3):
    fprs, pros, k = compute_pro(maps, masks)
    return trapezoid(fprs, pros, limit) / limit, k


# ---------------------------------------------------------------- other metrics
def f1_max(labels, scores):
    precision, recall, _ = precision_recall_curve(labels, scores)
    denom = precision + recall
    f1 = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)
    return float(np.max(f1))


def mious(maps, masks, thresholds):
    eps = np.finfo(float).eps
    result = []
    for t in thresholds:
        ious = []
        for m, g in zip(maps, masks):
            p = m.astype(np.float64) > t
            g = g > 0.5
            ious.append((np.sum(p & g) + eps) / (np.sum(p | g) + eps))
        result.append(float(np.mean(ious)))
    return result


def fair_thresholds(train_maps, targets):
    scores = train_maps.ravel()
    labels = np.zeros(scores.shape, dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fpr, _, thr = roc_curve(labels, scores)
    f = interp1d(fpr, thr)
    return [float(f(t)) for t in targets], len(fpr)


# ---------------------------------------------------------------- fixtures
def f32(v):
    """The shortest decimal that reads back (as float32) as the same float32 value; read it with GetSingle."""
    return float(repr(np.float32(v)))


def random_mask(rng, h, w, kind):
    m = np.zeros((h, w), dtype=np.uint8)
    if kind == "normal":
        return m
    if kind == "pixels":  # single pixels, two of them touching diagonally (one 8-connected component)
        m[2, 2] = 1
        m[3, 3] = 1
        m[h - 2, 1] = 1
        m[h // 2, w - 3] = 1
        return m
    n = rng.integers(1, 4)
    for _ in range(n):
        cy, cx = rng.integers(0, h), rng.integers(0, w)
        ry, rx = rng.integers(1, max(2, h // 4)), rng.integers(1, max(2, w // 4))
        yy, xx = np.ogrid[:h, :w]
        m[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0] = 1
    return m


def make_case(name, seed, n_images, h, w, quantize, n_train, scale=1.0, offset=0.0):
    rng = np.random.default_rng(seed)
    kinds = ["normal", "pixels"] + ["blobs"] * (n_images - 2)
    masks = np.stack([random_mask(rng, h, w, k) for k in kinds])
    maps = rng.normal(0.0, 1.0, size=(n_images, h, w)) + 1.5 * masks
    train = rng.normal(0.0, 1.0, size=(n_train, h, w))
    if quantize:
        maps = np.round(maps * quantize) / quantize
        train = np.round(train * quantize) / quantize
    maps = (maps * scale + offset).astype(np.float32)
    train = (train * scale + offset).astype(np.float32)

    labels = masks.reshape(-1).astype(bool)
    flat = maps.reshape(-1).astype(np.float64)
    image_scores = maps.reshape(n_images, -1).max(axis=1).astype(np.float64)
    image_labels = masks.reshape(n_images, -1).max(axis=1) > 0
    au, k = aupro(maps.astype(np.float64), masks)
    lo, hi = float(np.min(maps)), float(np.max(maps))
    thresholds = [float(v) for v in np.linspace(lo - 0.5, hi + 0.5, 41).astype(np.float32)]
    # also the exact score values of a few pixels, to test "map > t" at equality
    thresholds += [float(v) for v in flat[:5]]
    thresholds = sorted(set(thresholds))
    mi = mious(maps, masks, thresholds)
    fair, npoints = fair_thresholds(train, FAIR_TARGETS)
    expected = {
        "imageAuroc": float(roc_auc_score(image_labels, image_scores)),
        "pixelAuroc": float(roc_auc_score(labels, flat)),
        "aupro": au,
        "regionCount": int(k),
        "f1Max": f1_max(labels, flat),
        "miouThresholds": thresholds,
        "mious": mi,
        "fairTargets": FAIR_TARGETS,
        "fairThresholds": fair,
        "fairRocPoints": npoints,
    }
    case = {
        "name": name,
        "height": h,
        "width": w,
        "images": [{"scores": [f32(v) for v in m.ravel()], "mask": "".join(str(int(v)) for v in g.ravel())}
                   for m, g in zip(maps, masks)],
        "train": [[f32(v) for v in t.ravel()] for t in train],
        "expected": expected,
    }
    path = os.path.join(OUT, f"metrics_{name}.json")
    with open(path, "w") as f:
        json.dump(case, f, separators=(",", ":"))
    print(f"{name}: imageAuroc={expected['imageAuroc']:.6f} pixelAuroc={expected['pixelAuroc']:.6f} "
          f"aupro={au:.6f} K={k} f1max={expected['f1Max']:.6f} fair[0]={fair[0]:.6f} rocPoints={npoints} "
          f"-> {os.path.relpath(path)}")


def main():
    os.makedirs(OUT, exist_ok=True)
    make_case("continuous", seed=1, n_images=8, h=20, w=24, quantize=0, n_train=3)
    make_case("ties", seed=2, n_images=10, h=16, w=16, quantize=4, n_train=4)
    make_case("heavyties", seed=3, n_images=6, h=12, w=14, quantize=1, n_train=2, scale=100.0, offset=-20.0)


if __name__ == "__main__":
    main()
