#!/usr/bin/env python3
"""The bundled models as PyTorch modules, for the `pytorch` engine.

Factories (suite field ``pytorch: {factory: "pytorch_models.py:cnn"}``): ``cnn()`` and
``transformer()`` rebuild the modules of make_models.py with the same seeds, so their
outputs are the committed references (outputs.pt) again. Run from the repository root:

    .venv/bin/python suites/models/pytorch_models.py

to write ``suites/models/<name>/model.torchscript.pt`` (torch.jit.trace of the same module)
and check that both forms reproduce the committed reference outputs (max abs error <= 1e-5).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_models as mm  # noqa: E402

ROOT = Path(__file__).resolve().parent
TOLERANCE = 1e-5


def cnn() -> torch.nn.Module:
    """make_models.make_cnn's SmallResNet (same seed, randomised BatchNorm), in eval mode."""
    torch.manual_seed(mm.SEED)
    model = mm.SmallResNet(num_classes=10)
    mm.randomise_batchnorm(model, torch.Generator().manual_seed(mm.SEED + 1))
    return model.eval()


def transformer() -> torch.nn.Module:
    """make_models.make_transformer's TinyEncoder (same seed and positions), in eval mode."""
    torch.manual_seed(mm.SEED)
    model = mm.TinyEncoder(vocab=1000, seq_len=16)
    with torch.no_grad():
        model.pos.copy_(0.02 * torch.randn(model.pos.shape, generator=torch.Generator().manual_seed(mm.SEED + 1)))
    return model.eval()


FACTORIES = {"cnn": cnn, "transformer": transformer}


def check(name: str, model: torch.nn.Module, what: str) -> None:
    inputs = torch.load(ROOT / name / "inputs.pt", weights_only=True)
    refs = torch.load(ROOT / name / "outputs.pt", weights_only=True)
    with torch.inference_mode():
        got = model(*inputs.values())
    got = got if isinstance(got, tuple) else (got,)
    for (k, ref), t in zip(refs.items(), got, strict=True):
        err = float((t - ref).abs().max())
        print(f"  {name}.{k}: {what} max abs error vs outputs.pt = {err:.3e}")
        if not err <= TOLERANCE:
            raise SystemExit(f"{name}.{k}: {what} differs from the reference by {err:.3e} > {TOLERANCE}")


def main() -> int:
    torch.backends.mha.set_fastpath_enabled(False)
    for name, factory in FACTORIES.items():
        model = factory()
        check(name, model, "factory")
        inputs = torch.load(ROOT / name / "inputs.pt", weights_only=True)
        with torch.no_grad():
            traced = torch.jit.trace(model, tuple(inputs.values()))
        path = ROOT / name / "model.torchscript.pt"
        torch.jit.save(traced, str(path))
        check(name, torch.jit.load(str(path)), "torchscript")
        print(f"  wrote {path.relative_to(ROOT.parent.parent)} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
