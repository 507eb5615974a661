"""`rag reader …`: train, measure and export the learned reader (the commands behind models/reader)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

reader_app = typer.Typer(no_args_is_help=True, help="Train and export the learned reader.")

DEFAULT_DATA = [Path("../shared/bench/cmrc2018_dev"), Path("../shared/bench/drcd_train")]


DataOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--data", help="SQuAD-style folder (passages.jsonl + questions.jsonl with answer_starts); repeatable."
    ),
]
OutOpt = Annotated[Path, typer.Option("--out", help="Where the exported reader goes.")]
ThresholdOpt = Annotated[
    float,
    typer.Option(
        "--threshold",
        min=0,
        max=1,
        help="Calibrated probability below which no short answer (0.6: chosen on the dev sets, BENCHMARKS.md).",
    ),
]


@reader_app.command("train")
def reader_train(
    data: DataOpt = None,
    out: OutOpt = Path("models/reader"),
    work: Annotated[Path | None, typer.Option("--work", help="Also keep the torch weights here.")] = None,
    epochs: Annotated[float, typer.Option("--epochs", min=0.01, help="Passes over the training windows.")] = 2.0,
    max_length: Annotated[int, typer.Option("--max-length", min=64, max=512, help="Tokens a window.")] = 256,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Windows a step.")] = 32,
    learning_rate: Annotated[float, typer.Option("--lr", min=0, help="Peak learning rate.")] = 1e-4,
    bf16: Annotated[
        bool, typer.Option("--bf16/--fp32", help="bf16 autocast on the CPU (fast where AVX-512 BF16).")
    ] = True,
    seed: Annotated[int, typer.Option("--seed", help="Seed for every random choice.")] = 13,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Train on the first N questions only (smoke runs).")] = 0,
    threshold: ThresholdOpt = 0.6,
    base: Annotated[
        Path | None, typer.Option("--base", help="BERT-style model folder to start from (default: m3e-small).")
    ] = None,
) -> None:
    """Fine-tune m3e-small for span extraction, score a held-out slice, calibrate, export int8 ONNX + card."""
    from rag.tools.reader_data import TrainConfig
    from rag.tools.reader_training import train_and_export

    logging.basicConfig(level=logging.WARNING)
    _needs_torch()
    folders = _folders(data)
    cfg = TrainConfig(
        epochs=epochs,
        max_length=max_length,
        batch_size=batch_size,
        learning_rate=learning_rate,
        bf16=bf16,
        seed=seed,
        limit=limit,
    )
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
    card = train_and_export(folders, out, cfg, progress=True, work=work, threshold=threshold, base=base)
    sys.stdout.write(json.dumps(card, ensure_ascii=False, indent=2) + "\n")


@reader_app.command("export")
def reader_export(
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="The torch weights `rag reader train --work` kept.")],
    data: DataOpt = None,
    out: OutOpt = Path("models/reader"),
    max_length: Annotated[int, typer.Option("--max-length", min=64, max=512, help="Tokens a window.")] = 256,
    threshold: ThresholdOpt = 0.6,
) -> None:
    """Re-export a trained reader (int8 ONNX), re-score and re-calibrate it on the same held-out slice."""
    from rag.tools.reader_data import TrainConfig
    from rag.tools.reader_training import export_checkpoint

    logging.basicConfig(level=logging.WARNING)
    _needs_torch()
    folders = _folders(data)
    if not (checkpoint / "config.json").is_file():
        typer.echo(f"error: no trained reader at {checkpoint} (config.json missing)", err=True)
        raise typer.Exit(2)
    card = export_checkpoint(checkpoint, folders, out, TrainConfig(max_length=max_length), threshold=threshold)
    sys.stdout.write(json.dumps(card, ensure_ascii=False, indent=2) + "\n")


def _needs_torch() -> None:
    """Training and export run the model in torch: say how to get it rather than fail on an import."""
    import importlib.util

    missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
    if missing:
        typer.echo(
            f"error: training and exporting the reader need {' and '.join(missing)}: `pip install -e '.[torch]'` "
            "(CPU torch: `pip install torch==2.13.0` first)",
            err=True,
        )
        raise typer.Exit(2)


def _folders(data: list[Path] | None) -> list[Path]:
    folders = data or DEFAULT_DATA
    missing = [str(p) for p in folders if not (p / "questions.jsonl").is_file()]
    if missing:
        typer.echo(f"error: no questions.jsonl in {', '.join(missing)} (pass --data FOLDER)", err=True)
        raise typer.Exit(2)
    return folders
