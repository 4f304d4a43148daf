"""`manage.py tagging_eval --train TRAIN.csv --test TEST.csv [--per-tag N] [--seed S]`."""

from __future__ import annotations

from pathlib import Path

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser

from discovery.tagging_eval import evaluate, read_rows


class Command(BaseCommand):
    help = (
        "Train the tagging worker on TRAIN.csv and tag TEST.csv in a throw-away workspace "
        "(columns text,label; label 'oos' or empty = no tag fits); prints a JSON line of scores."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--train", type=Path, required=True)
        parser.add_argument("--test", type=Path, required=True)
        parser.add_argument("--per-tag", type=int, default=None, help="At most N rows per tag.")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options) -> None:
        try:
            train = read_rows(options["train"])
            test = read_rows(options["test"])
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise CommandError(str(exc)) from exc
        if options["per_tag"] is not None and options["per_tag"] < 1:
            raise CommandError("--per-tag must be at least 1.")
        self.stderr.write(
            f"tagging_eval: {len(train):,} training rows, {len(test):,} test rows ..."
        )
        scores = evaluate(train=train, test=test, per_tag=options["per_tag"], seed=options["seed"])
        self.stdout.write(orjson.dumps(scores).decode())
