"""How many labels a tenant needs before its own threshold beats the global one: bootstrap on the validation pairs.

For n good + n bad labels drawn from the JobBERT validation pairs (matching/services/global_calibration.py), fit the
best-F1 threshold, and report the spread of the fitted threshold and the F1 it achieves on all pairs against the
best achievable. Prints one table and writes JSON. Run: .venv/bin/python bench/threshold_labels.py [--titles N]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import django
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobmatch_site.settings")
django.setup()

from matching.ml.thresholds import fit_threshold  # noqa: E402
from matching.services import ensure_base_encoder  # noqa: E402
from matching.services.global_calibration import validation_pairs  # noqa: E402


def f1_at(similarities: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    accepted = similarities >= threshold
    tp = int((accepted & labels).sum())
    return 0.0 if tp == 0 else 2 * tp / (accepted.sum() + labels.sum())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--titles", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--json", type=Path, default=Path("bench/results/threshold_labels.json"))
    args = parser.parse_args()
    started = time.monotonic()
    similarities, labels, _ = validation_pairs(version=ensure_base_encoder(), titles=args.titles)
    full = fit_threshold(similarities, labels)
    rng = np.random.default_rng(0)
    positives, negatives = np.flatnonzero(labels), np.flatnonzero(~labels)
    rows = []
    for n in (10, 20, 50, 100, 200, 500):
        thresholds, f1s = [], []
        for _ in range(args.rounds):
            pick = np.r_[rng.choice(positives, n), rng.choice(negatives, n)]
            fitted = fit_threshold(similarities[pick], labels[pick])
            thresholds.append(fitted.threshold)
            f1s.append(f1_at(similarities, labels, fitted.threshold))
        rows.append(
            {
                "labels_per_class": n,
                "threshold_sd": float(np.std(thresholds)),
                "f1_loss_mean": float(full.f1 - np.mean(f1s)),
                "f1_loss_p90": float(full.f1 - np.quantile(f1s, 0.1)),
            }
        )
    print(f"all pairs: {len(labels)}, best-F1 threshold {full.threshold:.4f}, F1 {full.f1:.4f}")
    print("labels/class  threshold sd  F1 loss mean  F1 loss p90")
    for row in rows:
        n, sd, loss, p90 = row["labels_per_class"], row["threshold_sd"], row["f1_loss_mean"], row["f1_loss_p90"]
        print(f"{n:>12}  {sd:>12.4f}  {loss:>12.4f}  {p90:>11.4f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"threshold": full.threshold, "f1": full.f1, "pairs": len(labels), "rows": rows,
                                     "seconds": round(time.monotonic() - started, 1)}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
