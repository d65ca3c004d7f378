#!/usr/bin/env python3
"""Markdown tables for docs/RESULTS.md from the curves written by `uflow bench quality` (bench/quality.sh).

Works on partial runs too: everything is computed from <out>.csv (flushed after every epoch); <out>.json, when the run
has finished, adds how it stopped, and <out>.time (GNU time -v) the peak resident memory of the whole process.
Standard library only.  Usage:  python3 bench/quality_report.py /tmp/quality/bottle-mobilenetv2 [more prefixes]
"""
import csv
import json
import os
import re
import statistics
import sys


def load(prefix):
    with open(prefix + ".csv", newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    summary = None
    if os.path.exists(prefix + ".json"):
        with open(prefix + ".json") as f:
            summary = json.load(f)
    rss_mb = None
    if os.path.exists(prefix + ".time"):
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(prefix + ".time").read())
        if m:
            rss_mb = int(m.group(1)) // 1024
    return rows, summary, rss_mb


def num(v):
    return float(v) if v not in ("", None, "nan") else float("nan")


def fmt(v, digits=4):
    return "n/a" if v != v else f"{v:.{digits}f}"


METRICS = [("image_auroc", "image AUROC"), ("pixel_auroc", "pixel AUROC"), ("aupro", "AUPRO"), ("f1_max", "F1-max"),
           ("miou_nfa", "mIoU log NFA<0"), ("oracle_miou", "oracle mIoU")]


def report(prefix):
    rows, summary, rss_mb = load(prefix)
    name = os.path.basename(prefix)
    evaluated = [r for r in rows if r["pixel_auroc"] != ""]
    out = [f"### {name}", ""]
    if not rows:
        return "\n".join(out + ["no epoch finished yet", ""])
    scales = sorted(k for k in rows[0] if k.startswith("mean_z2_scale"))
    train_s = statistics.median(num(r["train_s"]) for r in rows)
    eval_s = statistics.median(num(r["eval_s"]) for r in evaluated) if evaluated else float("nan")
    peak = max(int(r["peak_mb"]) for r in rows)
    status = summary["stopped_by"] if summary else "still running when this table was made (partial)"
    out += [f"epochs run: {len(rows)} ({status}); training s/epoch (median): {train_s:.1f}; evaluation s (median): {eval_s:.1f}; "
            f"peak working set: {peak} MB" + (f" (GNU time max RSS {rss_mb} MB)" if rss_mb else ""), ""]
    if summary:
        out += [f"trainable parameters: {summary['trainable_parameters']:,}; featurisation s: {summary['featurize_seconds']:.0f}; "
                f"lr {summary['lr']}, batch {summary['batch']}, max epochs {summary['max_epochs']}, patience {summary['patience']}", ""]
    if not evaluated:
        return "\n".join(out)
    last = evaluated[-1]
    header = "| selection | epoch | " + " | ".join(t for _, t in METRICS) + " | normal images with a detection | anomalous images with a detection | mean z² per scale (normal test) |"
    out += [header, "|" + "---|" * (header.count("|") - 1)]

    def line(label, r):
        z2 = " / ".join(fmt(num(r[s]), 3) for s in scales)
        return (f"| {label} | {r['epoch']} | " + " | ".join(fmt(num(r[k])) for k, _ in METRICS)
                + f" | {r['normal_detected']}/{r['normal']} | {r['anomalous_detected']}/{r['anomalous']} | {z2} |")

    out.append(line("last epoch", last))
    for key, title in [("pixel_auroc", "pixel AUROC"), ("aupro", "AUPRO"), ("miou_nfa", "mIoU log NFA<0"), ("image_auroc", "image AUROC")]:
        best = max(evaluated, key=lambda r: (num(r[key]) if num(r[key]) == num(r[key]) else -1, -int(r["epoch"])))
        out.append(line(f"best {title} (test-set selection)", best))
    out += ["", "Curve (every epoch evaluated; a subset shown):", "",
            "| epoch | loss | " + " | ".join(t for _, t in METRICS) + " | normal det. | mean z² per scale |",
            "|" + "---|" * (len(METRICS) + 4)]
    step = max(1, len(evaluated) // 15)
    shown = evaluated[::step]
    if shown[-1] is not last:
        shown.append(last)
    for r in shown:
        z2 = " / ".join(fmt(num(r[s]), 3) for s in scales)
        out.append(f"| {r['epoch']} | {num(r['loss']):.0f} | " + " | ".join(fmt(num(r[k])) for k, _ in METRICS)
                   + f" | {r['normal_detected']}/{r['normal']} | {z2} |")
    out.append("")
    if "wide_oracle_miou" in rows[0]:
        out += ["Segmentation diagnostics (defective images: pooled precision and recall of the log NFA < 0 masks, their mean IoU; "
                "wide oracle = best mIoU over −log10 NFA thresholds −10000…1000 in steps of 10):", "",
                "| epoch | mIoU log NFA<0 | oracle mIoU | wide oracle mIoU @ threshold | defective mIoU | precision | recall |",
                "|---|---|---|---|---|---|---|"]
        for r in shown:
            out.append(f"| {r['epoch']} | {fmt(num(r['miou_nfa']))} | {fmt(num(r['oracle_miou']))} | "
                       f"{fmt(num(r['wide_oracle_miou']))} @ {r['wide_oracle_threshold']} | {fmt(num(r['defective_miou']))} | "
                       f"{fmt(num(r['defective_precision']))} | {fmt(num(r['defective_recall']))} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(report(p))
