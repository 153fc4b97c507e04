"""Print the validation statistics against Mesa: means, spreads and p-values.

Usage: python scripts/validation_report.py   (about 20 s)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_validation_mesa import (
    METRICS,
    OUR_SEEDS,
    compare,
    reference,
    survsim_statistics,
)


def main() -> None:
    print("| config | variant | metric | survsim mean (sd) | Mesa mean (sd) | Welch p | KS p |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for config, mesa in reference().items():
        for variant in ("round", "floor"):
            ours = survsim_statistics(mesa["_params"], OUR_SEEDS, estimate_rounding=variant)
            result = compare(ours, mesa)
            for m in METRICS:
                welch, ks = result[m]
                a, b = ours[m], mesa[m]
                print(
                    f"| {config} | {variant} | {m} | {a.mean():.4f} ({a.std(ddof=1):.4f}) "
                    f"| {b.mean():.4f} ({b.std(ddof=1):.4f}) | {welch:.2g} | {ks:.2g} |"
                )


if __name__ == "__main__":
    main()
