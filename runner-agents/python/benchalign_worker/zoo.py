"""`benchalign zoo prepare`: builds one zoo architecture, writes its PyTorch references and its ONNX export.

    python -m benchalign_worker.zoo --request request.json
    python -m benchalign_worker.zoo --versions

Driven by src/zoo/prepare.ts. The request names the architecture (a function of zoo_models.py),
its inputs (name, dtype, shape, value range, dynamic axes) and output names, the seed and the
folder to write. Into that folder go:

- ``zoo_models.py``: a copy of the architectures file, the PyTorch engine's factory;
- ``inputs.pt`` / ``outputs.pt``: seeded inputs and the PyTorch fp32 CPU outputs, by name;
- ``model.onnx``: ``torch.onnx.export(dynamo=False)`` at the request's opset, with the dynamic
  axes asked for, checked with ``onnx.checker``;
- ``zoo.json``: versions, parameter count, sizes, sha256 of every file and the time each step took.

Nothing is downloaded and nothing but zoo_models.py is run. A failure exits with code 2 and a
last stderr line ``benchalign-zoo-error: {"code", "message", "expected"}``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import time
import warnings
from typing import Any

ERROR_PREFIX = "benchalign-zoo-error: "
HERE = os.path.dirname(os.path.abspath(__file__))


class ZooError(Exception):
    def __init__(self, code: str, message: str, expected: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.expected = expected


def versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for pkg in ("torch", "transformers", "onnx", "numpy"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "missing"
    return out


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def make_inputs(specs: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """Seeded inputs: floats standard normal, integers uniform in [low, high], a mask ``ones`` with
    the last ``pad`` positions 0 (padding)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    out: dict[str, Any] = {}
    for s in specs:
        shape = tuple(int(d) for d in s["shape"])
        dtype = getattr(torch, s["dtype"])
        kind = s.get("fill", "normal")
        if kind == "normal":
            out[s["name"]] = torch.randn(shape, generator=gen, dtype=torch.float32).to(dtype)
        elif kind == "uniform":
            low, high = s["range"]
            out[s["name"]] = torch.randint(int(low), int(high) + 1, shape, generator=gen, dtype=dtype)
        elif kind == "mask":
            t = torch.ones(shape, dtype=dtype)
            pad = int(s.get("pad", 0))
            if pad > 0:
                t[..., shape[-1] - pad :] = 0
            out[s["name"]] = t
        else:
            raise ZooError("E_INTERNAL", f"input {s['name']}: unknown fill {kind!r}", "normal|uniform|mask")
    return out


def flatten(raw: Any) -> list[Any]:
    import torch

    if isinstance(raw, torch.Tensor):
        return [raw]
    if isinstance(raw, (tuple, list)):
        return [t for v in raw for t in flatten(v)]
    raise ZooError("E_INTERNAL", f"the zoo model returned {type(raw).__name__}", "a tensor or a tuple of tensors")


def prepare(req: dict[str, Any]) -> dict[str, Any]:
    import numpy
    import torch

    name = req["name"]
    out_dir = req["out"]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(max(1, int(req.get("threads", 1))))
    torch.set_float32_matmul_precision("highest")
    seed = int(req.get("seed", 0))

    # the copy, with the seed written in, is what both the references and the pytorch engine run
    with open(os.path.join(HERE, "zoo_models.py"), encoding="utf-8") as f:
        text = f.read()
    if "\nSEED = 0\n" not in text:
        raise ZooError("E_INTERNAL", "zoo_models.py has no line 'SEED = 0'", "the seed line the copy rewrites")
    dst = os.path.join(out_dir, "zoo_models.py")
    with open(dst, "w", encoding="utf-8") as f:
        f.write(text.replace("\nSEED = 0\n", f"\nSEED = {seed}\n", 1))
    spec = importlib.util.spec_from_file_location("benchalign_zoo_models", dst)
    assert spec is not None and spec.loader is not None
    zoo_models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo_models)
    factory = getattr(zoo_models, name, None)
    if name not in zoo_models.ARCHITECTURES or not callable(factory):
        raise ZooError("E_USAGE", f"no zoo architecture {name!r}", f"one of {', '.join(zoo_models.ARCHITECTURES)}")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        module = factory()
    except ImportError as e:
        raise ZooError("E_ENGINE_MISSING", f"{name}: {e}", "the zoo's Python packages (benchalign engines setup, requirements-zoo.txt)") from e
    timings["buildS"] = time.perf_counter() - t0
    params = sum(p.numel() for p in module.parameters())

    inputs = make_inputs(req["inputs"], seed)
    args = tuple(inputs.values())
    t0 = time.perf_counter()
    with torch.inference_mode():
        raw = module(*args)
    timings["forwardS"] = time.perf_counter() - t0
    flat = flatten(raw)
    names = list(req["outputs"])
    if len(names) != len(flat):
        raise ZooError("E_INTERNAL", f"{name}: the model returned {len(flat)} tensors, the catalog names {len(names)} {names}", "the catalog to match zoo_models.py")
    outputs = {n: t.detach().clone().contiguous() for n, t in zip(names, flat)}
    torch.save({k: v.clone() for k, v in inputs.items()}, os.path.join(out_dir, "inputs.pt"))
    torch.save(outputs, os.path.join(out_dir, "outputs.pt"))

    dynamic: dict[str, dict[int, str]] = {}
    for s in req["inputs"]:
        if s.get("dynamic"):
            dynamic[s["name"]] = {int(k): v for k, v in s["dynamic"].items()}
    for n, axes in (req.get("outputDynamic") or {}).items():
        dynamic[n] = {int(k): v for k, v in axes.items()}
    onnx_path = os.path.join(out_dir, "model.onnx")
    opset = int(req.get("opset", 17))
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module, args, onnx_path, input_names=list(inputs), output_names=names, opset_version=opset,
                dynamo=False, do_constant_folding=True, dynamic_axes=dynamic or None,
            )
    except Exception as e:  # noqa: BLE001 - the exporter's own message
        raise ZooError("E_CONVERT", f"{name}: ONNX export failed: {type(e).__name__}: {str(e).strip()[:1500]}", "an architecture torch.onnx.export supports") from e
    timings["exportS"] = time.perf_counter() - t0
    import onnx

    onnx.checker.check_model(onnx_path)
    del module

    def meta(t: Any) -> dict[str, Any]:
        out = {"dtype": str(t.dtype).removeprefix("torch."), "dims": list(t.shape)}
        if t.is_floating_point():
            out["std"] = float(t.double().std()) if t.numel() > 1 else 0.0
            out["maxAbs"] = float(t.double().abs().max())
        return out

    files = {f: sha256_file(os.path.join(out_dir, f)) for f in ("model.onnx", "inputs.pt", "outputs.pt", "zoo_models.py")}
    manifest = {
        "generator": "benchalign zoo prepare",
        "name": name,
        "seed": seed,
        "versions": {**versions(), "numpyRuntime": numpy.__version__},
        "parameters": params,
        "onnx": {"exporter": "torch.onnx.export(dynamo=False)", "opset": opset, "bytes": os.path.getsize(onnx_path), "dynamicAxes": dynamic},
        "inputs": [{"name": k, **meta(v)} for k, v in inputs.items()],
        "outputs": [{"name": k, **meta(v)} for k, v in outputs.items()],
        "sha256": files,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    with open(os.path.join(out_dir, "zoo.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


def main() -> int:
    ap = argparse.ArgumentParser(description="benchalign zoo prepare (driven by the benchalign CLI)")
    ap.add_argument("--request")
    ap.add_argument("--versions", action="store_true")
    args = ap.parse_args()
    if args.versions:
        print(json.dumps(versions()))
        return 0
    try:
        with open(args.request, encoding="utf-8") as f:
            req = json.load(f)
        prepare(req)
        return 0
    except ZooError as e:
        err = {"code": e.code, "message": str(e), **({"expected": e.expected} if e.expected else {})}
        sys.stderr.write(ERROR_PREFIX + json.dumps(err) + "\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
