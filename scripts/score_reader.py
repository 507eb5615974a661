"""Score a reader folder on the held-out slice it was trained without: the CMRC metric (EM / F1) on the gold
passage and the time a question, the figures of its model card, re-measured on this machine.

    python scripts/score_reader.py [--reader models/reader] [--data ../shared/bench/cmrc2018_dev ...]

The slice is the training tool's own (the split settings in the folder's ``training.json``), so the figure is
comparable with the card's ``dev_int8``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rag.backends.onnx_reader import SHIPPED_READER, OnnxReader
from rag.machine import describe_cpu
from rag.tools.reader_data import TrainConfig
from rag.tools.reader_training import prepare, score_reader

DEFAULT_DATA = [Path("../shared/bench/cmrc2018_dev"), Path("../shared/bench/drcd_train")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reader", type=Path, default=SHIPPED_READER, help="reader folder (default: the shipped one)")
    parser.add_argument("--data", type=Path, action="append", help="question folders (default: CMRC dev, DRCD)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    card = json.loads((args.reader / "training.json").read_text(encoding="utf-8"))
    fields = TrainConfig.__dataclass_fields__
    cfg = TrainConfig(**{k: v for k, v in card["config"].items() if k in fields})
    _, _, dev = prepare(args.data or DEFAULT_DATA, cfg)
    reader = OnnxReader(args.reader)
    reader.read(dev[0].question, [dev[0].context])  # loads the model outside the timing
    started = time.perf_counter()
    scores = score_reader(reader.read, dev, progress=True)
    ms = 1000 * (time.perf_counter() - started) / max(1, len(dev))
    figures = {
        "reader": str(args.reader),
        "questions": scores["questions"],
        "em": scores["em"],
        "f1": scores["f1"],
        "card_int8": card.get("dev_int8"),
        "ms_per_question": round(ms, 1),
        "machine": describe_cpu(),
    }
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
