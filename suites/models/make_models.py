#!/usr/bin/env python3
"""Build the bundled benchmark models and their PyTorch reference tensors.

Run from the repository root:

    .venv/bin/python suites/models/make_models.py

For each model it writes, into suites/models/<name>/:

    model.onnx                     the exported graph (self-contained, no external data)
    inputs.pt   / outputs.pt       dicts {onnx_name: tensor}, torch.save zip format
    inputs.npz  / outputs.npz      the same tensors, np.savez_compressed
    meta.json                      versions, seed, shapes, dtypes, sha256, parameter count

Everything is fp32 on CPU with fixed seeds. The exported ONNX model is checked with
onnx.checker and its outputs are compared with PyTorch's (onnxruntime when importable,
otherwise onnx.reference.ReferenceEvaluator); the script fails if the max abs error
exceeds 1e-4.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

SEED = 20240603
OPSET = 17
TOLERANCE = 1e-4
OUT_ROOT = Path(__file__).resolve().parent


def set_determinism(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    # The fused encoder fast path (aten::_transformer_encoder_layer_fwd) has no ONNX symbolic;
    # take the plain op-by-op path both for the reference outputs and for the export.
    torch.backends.mha.set_fastpath_enabled(False)


# ---------------------------------------------------------------------------
# cnn: ResNet-style
# ---------------------------------------------------------------------------


class BasicBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=False)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_ch),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class SmallResNet(nn.Module):
    """conv-bn-relu stem, three basic blocks (32 -> 48 -> 64 ch, two stride-2), avgpool, fc."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=False),
        )
        self.layer1 = BasicBlock(32, 32, stride=1)
        self.layer2 = BasicBlock(32, 48, stride=2)
        self.layer3 = BasicBlock(48, 64, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


def randomise_batchnorm(model: nn.Module, gen: torch.Generator) -> None:
    """Give every BN non-trivial affine params and running stats so BN folding matters."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(1.0 + 0.25 * torch.randn(n, generator=gen))
                m.bias.copy_(0.1 * torch.randn(n, generator=gen))
                m.running_mean.copy_(0.2 * torch.randn(n, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(n, generator=gen))


# ---------------------------------------------------------------------------
# transformer: small encoder
# ---------------------------------------------------------------------------


class TinyEncoder(nn.Module):
    """Token embedding + learned positions, 2 post-LN encoder layers, final LayerNorm.

    Outputs the per-token hidden states and a mean-pooled vector.
    """

    def __init__(
        self,
        vocab: int = 1000,
        seq_len: int = 16,
        d_model: int = 64,
        nhead: int = 4,
        ff: int = 128,
        layers: int = 2,
    ) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(torch.zeros(1, seq_len, d_model))
        layer = nn.TransformerEncoderLayer(
            d_model=d_model,
            nhead=nhead,
            dim_feedforward=ff,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=False,
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.tok(input_ids) + self.pos
        x = self.norm(self.encoder(x))
        return x, x.mean(dim=1)


# ---------------------------------------------------------------------------
# export and checks
# ---------------------------------------------------------------------------


def export_onnx(
    model: nn.Module,
    example: tuple[torch.Tensor, ...],
    input_names: list[str],
    output_names: list[str],
    dynamic_axes: dict[str, dict[int, str]] | None,
) -> onnx.ModelProto:
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        # Spurious here: the model is in eval mode, so PRESERVE means EVAL semantics.
        warnings.filterwarnings("ignore", message=".*constant folding be turned off.*")
        torch.onnx.export(
            model,
            example,
            buf,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=True,
            # PRESERVE (the model is in eval mode) skips the exporter's Conv+BatchNorm fusion, so
            # BatchNormalization nodes stay in the graph and each engine's own BN folding runs.
            training=torch.onnx.TrainingMode.PRESERVE,
            dynamo=False,
        )
    proto = onnx.load_from_string(buf.getvalue())
    proto.producer_name = "benchalign suites/models/make_models.py"
    proto.doc_string = ""
    onnx.checker.check_model(proto, full_check=True)
    return proto


def run_onnx(path: Path, feeds: dict[str, np.ndarray]) -> tuple[str, dict[str, np.ndarray]]:
    try:
        import onnxruntime as ort  # type: ignore[import-not-found]

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        return "onnxruntime " + ort.__version__, dict(zip(names, sess.run(names, feeds)))
    except ImportError:
        from onnx.reference import ReferenceEvaluator

        ev = ReferenceEvaluator(str(path))
        names = list(ev.output_names)
        return "onnx.reference " + onnx.__version__, dict(zip(names, ev.run(None, feeds)))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tensor_meta(tensors: dict[str, torch.Tensor]) -> dict[str, dict[str, object]]:
    return {
        k: {"shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")}
        for k, v in tensors.items()
    }


def onnx_io_meta(proto: onnx.ModelProto) -> dict[str, list[dict[str, object]]]:
    def one(vi: onnx.ValueInfoProto) -> dict[str, object]:
        tt = vi.type.tensor_type
        dims: list[object] = [d.dim_param if d.HasField("dim_param") else d.dim_value for d in tt.shape.dim]
        return {
            "name": vi.name,
            "dtype": onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type).name,
            "dims": dims,
        }

    return {
        "inputs": [one(v) for v in proto.graph.input],
        "outputs": [one(v) for v in proto.graph.output],
    }


def build(
    name: str,
    description: str,
    model: nn.Module,
    inputs: dict[str, torch.Tensor],
    output_names: list[str],
    dynamic_axes: dict[str, dict[int, str]] | None,
    extra: dict[str, object],
) -> None:
    out_dir = OUT_ROOT / name
    out_dir.mkdir(parents=True, exist_ok=True)
    model.eval()

    with torch.no_grad():
        raw = model(*inputs.values())
    outs_t = raw if isinstance(raw, tuple) else (raw,)
    outputs = {n: t.detach().contiguous().clone() for n, t in zip(output_names, outs_t, strict=True)}

    proto = export_onnx(model, tuple(inputs.values()), list(inputs), output_names, dynamic_axes)
    model_path = out_dir / "model.onnx"
    onnx.save(proto, str(model_path), save_as_external_data=False)

    torch.save({k: v.contiguous().clone() for k, v in inputs.items()}, out_dir / "inputs.pt")
    torch.save(outputs, out_dir / "outputs.pt")
    np.savez_compressed(out_dir / "inputs.npz", **{k: v.numpy() for k, v in inputs.items()})
    np.savez_compressed(out_dir / "outputs.npz", **{k: v.numpy() for k, v in outputs.items()})

    checker, got = run_onnx(model_path, {k: v.numpy() for k, v in inputs.items()})
    errors: dict[str, float] = {}
    for k, ref in outputs.items():
        if k not in got:
            raise SystemExit(f"{name}: ONNX model has no output {k!r} (has {sorted(got)})")
        if tuple(got[k].shape) != tuple(ref.shape):
            raise SystemExit(f"{name}.{k}: shape {got[k].shape} != reference {tuple(ref.shape)}")
        errors[k] = float(np.max(np.abs(got[k].astype(np.float64) - ref.numpy().astype(np.float64))))
        print(f"  {name}.{k}: max abs error vs PyTorch ({checker}) = {errors[k]:.3e}")
    worst = max(errors.values())
    if not worst <= TOLERANCE:
        raise SystemExit(f"{name}: ONNX output differs from PyTorch by {worst:.3e} > {TOLERANCE}")

    meta = {
        "name": name,
        "description": description,
        "generator": "suites/models/make_models.py",
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
        "numpy_version": np.__version__,
        "seed": SEED,
        "opset": OPSET,
        "exporter": "torch.onnx.export(dynamo=False, training=PRESERVE, do_constant_folding=True)",
        "dtype": "float32",
        "device": "cpu",
        "model_sha256": sha256_file(model_path),
        "model_bytes": model_path.stat().st_size,
        "parameter_count": sum(p.numel() for p in model.parameters()),
        "onnx_io": onnx_io_meta(proto),
        "inputs": tensor_meta(inputs),
        "outputs": tensor_meta(outputs),
        "onnx_check": {"checker": checker, "max_abs_error": errors, "tolerance": TOLERANCE},
        **extra,
    }
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"  wrote {out_dir.relative_to(OUT_ROOT.parent.parent)} ({meta['model_bytes']} bytes onnx, "
          f"{meta['parameter_count']} params)")


def make_cnn() -> None:
    set_determinism(SEED)
    model = SmallResNet(num_classes=10)
    randomise_batchnorm(model, torch.Generator().manual_seed(SEED + 1))
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(SEED + 2), dtype=torch.float32)
    build(
        "cnn",
        "ResNet-style CNN: conv-bn-relu stem, 3 basic blocks (32/48/64 ch, two stride-2 "
        "downsamples with 1x1 conv-bn shortcuts), global avgpool, fc to 10 classes. "
        "BatchNorm in eval mode with randomised running stats.",
        model,
        {"input": x},
        ["logits"],
        {"input": {0: "batch"}, "logits": {0: "batch"}},
        {"dynamic_dims": {"input": {"0": "batch"}, "logits": {"0": "batch"}}},
    )


def make_transformer() -> None:
    set_determinism(SEED)
    vocab, seq_len = 1000, 16
    model = TinyEncoder(vocab=vocab, seq_len=seq_len)
    with torch.no_grad():
        model.pos.copy_(0.02 * torch.randn(model.pos.shape, generator=torch.Generator().manual_seed(SEED + 1)))
    ids = torch.randint(0, vocab, (1, seq_len), generator=torch.Generator().manual_seed(SEED + 2), dtype=torch.int64)
    build(
        "transformer",
        "Small transformer encoder: token embedding (vocab 1000) + learned positions (16), "
        "2 nn.TransformerEncoderLayer (d_model 64, 4 heads, ff 128, GELU, post-LN, batch_first), "
        "final LayerNorm; outputs per-token hidden states and their mean over tokens.",
        model,
        {"input_ids": ids},
        ["hidden", "pooled"],
        None,
        {"vocab_size": vocab, "input_value_range": [0, vocab - 1]},
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", metavar="MODEL", help="cnn and/or transformer (default: all)")
    args = ap.parse_args()
    builders = {"cnn": make_cnn, "transformer": make_transformer}
    want = args.models or list(builders)
    unknown = [m for m in want if m not in builders]
    if unknown:
        ap.error(f"unknown model(s) {unknown}; expected one of {list(builders)}")
    if not torch.__version__.startswith("2.13."):
        print(f"warning: expected torch 2.13.x, have {torch.__version__}", file=sys.stderr)
    for name in want:
        print(f"building {name}")
        builders[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
