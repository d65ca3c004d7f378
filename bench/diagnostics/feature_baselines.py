"""Image-level baselines on cached CS-Flow features: how separable are normal and defective test images with a
given backbone/layer/input size, independently of any flow? Reads the feature caches written by
`uflow bench csflow --cache DIR` (src/Microsoft.ML.UFlow.Benchmarks/Featurization/FeatureTensorFile.cs: magic UFLOWFT1, int32 version, int32 scale count,
int32 N, C, H, W per scale, then every scale's float32 NCHW values; the older header-less layout, per scale int32
N, C, H, W then its values, is read too).

  /usr/bin/python3 bench/diagnostics/feature_baselines.py DIR/<key>_train.f32 DIR/<key>_test.f32 --labels labels.txt

labels.txt: one 0/1 per test image in the dataset's test order (MTD: the split.txt order of the test lines,
`awk -F'\t' '$1=="test"{print ($2=="Free"?0:1)}' split.txt`; MVTec AD: defect folders in ordinal order, files sorted). Baselines (scale 0 unless --scale):
  gauss : Mahalanobis distance of the spatially averaged feature to the training mean (Ledoit-Wolf-like shrinkage).
  knn   : PatchCore-like: for each test position, distance to the nearest of a seeded random subset of training
          positions; image score = max over positions.
With --local, also per-position densities scored like CS-Flow's image score (the mean over positions; the max too):
  position-gauss : one Gaussian (full covariance, shrunk) of the feature vectors of all training positions;
                   per-position score = Mahalanobis² / C.
  location-diag  : a diagonal Gaussian per spatial location (PaDiM-like without covariance); per-position score = mean
                   over channels of the standardised square.
It also prints the fraction of exactly-zero feature values (post-ReLU outputs put a point mass at 0, which a density
model such as a flow can keep squeezing to lower its loss, up to what its clamps allow).
"""
import argparse
import numpy as np


def read_cache(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] == b"UFLOWFT1":
        version, count = np.frombuffer(data[8:16], dtype="<i4")
        assert version == 1, f"unknown feature file version {version}"
        shapes = np.frombuffer(data[16:16 + 16 * count], dtype="<i4").reshape(count, 4)
        at = 16 + 16 * count
        scales = []
        for n, c, h, w in shapes:
            size = n * c * h * w
            scales.append(np.frombuffer(data, dtype="<f4", count=size, offset=at).reshape(n, c, h, w))
            at += 4 * size
        return scales
    scales, at = [], 0
    for _ in range(3):
        n, c, h, w = np.frombuffer(data, dtype="<i4", count=4, offset=at)
        size = n * c * h * w
        scales.append(np.frombuffer(data, dtype="<f4", count=size, offset=at + 16).reshape(n, c, h, w))
        at += 16 + 4 * size
    return scales


def auroc(scores, labels):
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    s = scores[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = labels == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return (ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--labels", required=True)
    ap.add_argument("--scale", type=int, default=0)
    ap.add_argument("--bank", type=int, default=20000)
    ap.add_argument("--local", action="store_true", help="also the per-position Gaussian baselines (slower)")
    args = ap.parse_args()
    labels = np.loadtxt(args.labels, dtype=int)
    tr = read_cache(args.train)[args.scale].astype(np.float64)
    te = read_cache(args.test)[args.scale].astype(np.float64)
    assert len(labels) == te.shape[0], (len(labels), te.shape)
    print(f"scale {args.scale}: train {tr.shape}, test {te.shape}, {labels.sum()} defective; "
          f"exact zeros {np.mean(tr == 0):.3f} of the training values, mean {tr.mean():.4f}, std {tr.std():.4f}")

    g_tr, g_te = tr.mean(axis=(2, 3)), te.mean(axis=(2, 3))
    mu = g_tr.mean(0)
    cov = np.cov(g_tr, rowvar=False)
    cov = 0.9 * cov + 0.1 * np.trace(cov) / cov.shape[0] * np.eye(cov.shape[0])
    inv = np.linalg.inv(cov)
    d = g_te - mu
    print(f"gauss (pooled Mahalanobis) image AUROC {auroc(np.einsum('ij,jk,ik->i', d, inv, d), labels):.4f}")

    c = tr.shape[1]
    bank = tr.transpose(0, 2, 3, 1).reshape(-1, c)
    rng = np.random.default_rng(0)
    bank = bank[rng.choice(len(bank), size=min(args.bank, len(bank)), replace=False)].astype(np.float32)
    bank_sq = (bank ** 2).sum(1)
    q = te.transpose(0, 2, 3, 1).reshape(te.shape[0], -1, c).astype(np.float32)
    scores = np.empty(te.shape[0])
    for i in range(te.shape[0]):
        x = q[i]
        d2 = (x ** 2).sum(1)[:, None] + bank_sq[None, :] - 2 * x @ bank.T
        scores[i] = np.sqrt(np.maximum(d2.min(1), 0)).max()
    print(f"knn (nearest of {len(bank)} training positions, max over image) image AUROC {auroc(scores, labels):.4f}")
    if args.local:
        local_baselines(tr, te, labels)


def local_baselines(tr, te, labels):
    n, c, h, w = tr.shape
    x = tr.transpose(0, 2, 3, 1).reshape(-1, c)
    mu = x.mean(0)
    cov = np.cov(x, rowvar=False)
    cov += 1e-2 * np.trace(cov) / c * np.eye(c)
    inv = np.linalg.inv(cov)
    y = te.transpose(0, 2, 3, 1).reshape(te.shape[0], h * w, c) - mu
    m = ((y @ inv) * y).sum(2) / c  # Mahalanobis² per position, through one matrix product
    print(f"position-gauss (one full-covariance Gaussian of all positions) image AUROC mean {auroc(m.mean(1), labels):.4f}, "
          f"max {auroc(m.max(1), labels):.4f}")
    a = tr.transpose(0, 2, 3, 1).reshape(n, h * w, c)
    loc_mu, loc_var = a.mean(0), a.var(0) + 1e-3
    z2 = ((te.transpose(0, 2, 3, 1).reshape(te.shape[0], h * w, c) - loc_mu) ** 2 / loc_var).mean(2)
    print(f"location-diag (diagonal Gaussian per location) image AUROC mean {auroc(z2.mean(1), labels):.4f}, "
          f"max {auroc(z2.max(1), labels):.4f}")


if __name__ == "__main__":
    main()
