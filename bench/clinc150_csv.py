"""Convert CLINC150 (../shared/datasets/clinc150) to the `text,label` CSVs of `tagging_eval`.

python -m bench.clinc150_csv [--variant full] [--out DIR]

Writes DIR/train.csv (the train split plus `oos_train` labelled `oos`: feedback a person marked
"no tag fits") and DIR/test.csv (test plus `oos_test`; for `oos` rows the right answer is to
abstain). The data stays in shared/; only the derived CSVs are written, outside the project.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "clinc150"


def _write(path: Path, rows: list[list[str]]) -> int:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", default="full", choices=["full", "small", "imbalanced"])
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "clinc150"))
    parser.add_argument("--datasets", default=str(DATASETS))
    args = parser.parse_args()
    data = json.loads((Path(args.datasets) / f"data_{args.variant}.json").read_text())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    counts = {
        "train": _write(out / "train.csv", data["train"] + data["oos_train"]),
        "test": _write(out / "test.csv", data["test"] + data["oos_test"]),
    }
    print(
        json.dumps(
            {"bench": "clinc150_csv", "variant": args.variant, "out": str(out), "rows": counts}
        )
    )


if __name__ == "__main__":
    main()
