"""Tagging throughput through Celery against the same classifier called in a plain loop.

python -m bench.tagging [--per-tag N] [--datasets DIR]

A workspace learns CLINC150's 150 intents (its train split, tagged as if by people); its test
split (5,500 texts) is imported as feedback. Then, in one run:
- the floor: the trained classifier's `predict` over the same texts in a plain loop, in
  batches of the worker's size, no database and no queue;
- the real thing: a `celery worker` process (solo pool, one process: the classifier already
  uses both cores) tags the same items from `tag_items` tasks, one per batch, writing taggings
  and suggestions to PostgreSQL; timed from the first enqueue until every item is tagged.
The worker's first pass (encoder and classifier loaded, CPU kernels compiled) is reported
apart; the ratio compares the second, steady-state pass.
The final line is JSON with `items_per_second` (through Celery), `loop_items_per_second` and
`celery_vs_loop_ratio`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench._setup import django_setup

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets" / "clinc150"


def _rows(data: list[list[str]]):
    from discovery.tagging_eval import Row

    return [Row(text=text, label=label) for text, label in data]


def _start_worker(queue: str, log: Path) -> subprocess.Popen:
    # django_setup() put the bench database's URL in the environment the worker inherits.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pmhub.settings.test",
        "PMHUB_CELERY_QUEUE": queue,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "pmhub.celery",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"bench-{uuid.uuid4().hex[:8]}@%h",
        ],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _wait_tagged(workspace, ids: list[int], timeout: float, worker: subprocess.Popen, log: Path):
    from discovery.models import TaggedText

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # One index-only count (a pass starts with the hashes deleted): a heavier poll would
        # take CPU from the worker it measures.
        done = TaggedText.objects.for_workspace(workspace).count()
        if done == len(ids):
            return
        if worker.poll() is not None:
            sys.exit(f"the worker died:\n{log.read_text()[-3000:]}")
        # Sparse polling: the classifier keeps both cores busy, and a busy poller slows it.
        time.sleep(0.1)
    sys.exit(f"the worker did not finish in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-tag", type=int, default=None)
    parser.add_argument("--datasets", default=str(DATASETS))
    args = parser.parse_args()

    queue = f"pmhub-bench-tagging-{os.getpid()}"
    os.environ["PMHUB_CELERY_QUEUE"] = queue
    django_setup()

    from discovery import tagging
    from discovery.models import TaggedText
    from discovery.tagging_eval import import_rows, sample_per_tag, seed_training
    from discovery.tasks import tag_items_task
    from pmhub.workspaces.models import Workspace

    data = json.loads((Path(args.datasets) / "data_full.json").read_text())
    train = sample_per_tag(_rows(data["train"] + data["oos_train"]), args.per_tag, seed=0)
    texts = [text for text, _ in data["test"] + data["oos_test"]]

    workspace = Workspace.objects.create(
        name="Tagging bench", slug=f"tagging-bench-{uuid.uuid4().hex[:10]}"
    )
    log = Path(tempfile.mkdtemp()) / "worker.log"
    worker = None
    try:
        with tagging.enqueueing_paused():
            seed_training(workspace, train)
            started = time.perf_counter()
            tagging.classifier_train(workspace=workspace, force=True)
            train_seconds = time.perf_counter() - started
            ids = import_rows(workspace, _rows([[t, ""] for t in texts]), "bench")

        # The floor: the same classifier, the same texts, the same batches, a plain loop.
        _, model = tagging.classifier_load(workspace)
        model.predict(texts[:64])
        started = time.perf_counter()
        for start in range(0, len(texts), tagging.BATCH_SIZE):
            model.predict(texts[start : start + tagging.BATCH_SIZE])
        loop_seconds = time.perf_counter() - started

        worker = _start_worker(queue, log)

        def through_celery() -> float:
            TaggedText.objects.for_workspace(workspace).filter(feedback_id__in=ids).delete()
            started = time.perf_counter()
            for start in range(0, len(ids), tagging.BATCH_SIZE):
                tag_items_task.delay(
                    workspace_id=workspace.id,
                    kind="feedback",
                    ids=ids[start : start + tagging.BATCH_SIZE],
                )
            _wait_tagged(workspace, ids, 600, worker, log)
            return time.perf_counter() - started

        # A fresh worker loads the encoder and the classifier and compiles the CPU kernels
        # for each new batch shape; the first pass shows that cost, the second is steady state,
        # as in this process, which trained and warmed the same way.
        cold_seconds = through_celery()
        celery_seconds = through_celery()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        workspace.delete()
        print(
            "\n".join(line for line in log.read_text().splitlines() if "tagged " in line),
            file=sys.stderr,
        )

    loop_ips = len(texts) / loop_seconds
    celery_ips = len(ids) / celery_seconds
    print(
        f"{len(ids):,} items: loop {loop_ips:,.0f}/s, celery {celery_ips:,.0f}/s",
        file=sys.stderr,
    )
    print(
        json.dumps(
            {
                "bench": "tagging",
                "items": len(ids),
                "train_rows": len(train),
                "train_seconds": round(train_seconds, 1),
                "batch_size": tagging.BATCH_SIZE,
                "loop_items_per_second": round(loop_ips, 1),
                "items_per_second": round(celery_ips, 1),
                "cold_worker_items_per_second": round(len(ids) / cold_seconds, 1),
                "celery_vs_loop_ratio": round(celery_ips / loop_ips, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
