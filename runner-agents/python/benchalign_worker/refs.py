"""`benchalign refs`: PyTorch fp32 reference tensors on CPU, driven by src/runners/pytorch/refs.ts.

    python -m benchalign_worker.refs --request request.json

The request (JSON) names the model, the inputs and what to write; the script writes
inputs.pt/outputs.pt (and .safetensors, model.onnx when asked) and ``refs.json`` (names,
dtypes, shapes, files, versions) into ``out``. The TypeScript side writes the suite file.

Input files are read without running pickles: ``torch.load(weights_only=True)``, ``numpy.load``
with ``allow_pickle=False``, ``safetensors``. A failure exits with code 2 and a last stderr
line ``benchalign-refs-error: {"code", "message", "expected"}``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import inspect
import json
import os
import re
import sys
import warnings
from typing import Any

from .torch_outputs import flatten_tensors

ERROR_PREFIX = "benchalign-refs-error: "

_DTYPES = {
    "float32": "float32", "float": "float32", "fp32": "float32",
    "float16": "float16", "half": "float16", "fp16": "float16",
    "bfloat16": "bfloat16", "bf16": "bfloat16",
    "float64": "float64", "double": "float64",
    "int64": "int64", "long": "int64", "int32": "int32", "int": "int32",
    "int16": "int16", "int8": "int8", "uint8": "uint8", "bool": "bool",
}
_TORCHSCRIPT_EXT = (".pt", ".pth", ".ts", ".jit", ".torchscript")


class RefsError(Exception):
    def __init__(self, code: str, message: str, expected: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.expected = expected


def usage(message: str, expected: str | None = None) -> RefsError:
    return RefsError("E_USAGE", message, expected)


# -- input specs ---------------------------------------------------------------------------------
_SPEC = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*):(?P<shape>[0-9]+(?:x[0-9]+)*|scalar)(?::(?P<dtype>[a-z0-9]+))?(?::(?P<range>.+))?$")


def parse_spec(text: str) -> dict[str, Any]:
    """``name:shape:dtype[:range]``: shape ``1x3x32x32`` (or ``scalar``), dtype float32 by default,
    range ``low,high`` (floats uniform in [low, high), integers uniform in [low, high])."""
    m = _SPEC.match(text.strip())
    expected = "name:shape[:dtype[:low,high]], e.g. input:1x3x32x32:float32:-1,1 or ids:1x16:int64:0,999"
    if m is None:
        raise usage(f"--inputs {text!r}: not an input spec or an existing file", expected)
    dtype_word = m.group("dtype") or "float32"
    dtype = _DTYPES.get(dtype_word)
    if dtype is None:
        raise usage(f"--inputs {text!r}: unknown dtype {dtype_word!r}", f"one of {', '.join(sorted(set(_DTYPES.values())))}")
    shape = [] if m.group("shape") == "scalar" else [int(d) for d in m.group("shape").split("x")]
    rng = None
    if m.group("range") is not None:
        parts = m.group("range").split(",")
        try:
            if len(parts) != 2:
                raise ValueError
            rng = [float(parts[0]), float(parts[1])]
        except ValueError:
            raise usage(f"--inputs {text!r}: range {m.group('range')!r} is not low,high", expected) from None
        if rng[0] > rng[1]:
            raise usage(f"--inputs {text!r}: range low {rng[0]} > high {rng[1]}", "low <= high")
    return {"name": m.group("name"), "shape": shape, "dtype": dtype, "range": rng}


def random_inputs(specs: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    import torch

    gen = torch.Generator().manual_seed(seed)
    out: dict[str, Any] = {}
    for s in specs:
        if s["name"] in out:
            raise usage(f"--inputs: input {s['name']!r} given twice", "one spec per input name")
        dtype = getattr(torch, s["dtype"])
        shape = tuple(s["shape"])
        if dtype == torch.bool:
            out[s["name"]] = torch.randint(0, 2, shape, generator=gen).to(torch.bool)
        elif dtype.is_floating_point:
            low, high = s["range"] or (0.0, 1.0)
            out[s["name"]] = (torch.rand(shape, generator=gen, dtype=torch.float64) * (high - low) + low).to(dtype)
        else:
            low, high = s["range"] or (0, 1)
            if low != int(low) or high != int(high):
                raise usage(f"--inputs {s['name']}: range {low},{high} is not integral for {s['dtype']}", "integer bounds")
            out[s["name"]] = torch.randint(int(low), int(high) + 1, shape, generator=gen, dtype=dtype)
    return out


def read_inputs(path: str, name: str | None) -> dict[str, Any]:
    """Tensors by name from a .pt (weights_only), .npy, .npz or .safetensors file."""
    import numpy as np
    import torch

    lower = path.lower()
    try:
        if lower.endswith(".safetensors"):
            from safetensors.torch import load_file

            return dict(load_file(path))
        if lower.endswith(".npz"):
            with np.load(path, allow_pickle=False) as z:
                return {k: torch.from_numpy(np.array(z[k])) for k in z.files}
        if lower.endswith(".npy"):
            return {name or os.path.splitext(os.path.basename(path))[0]: torch.from_numpy(np.load(path, allow_pickle=False))}
        if lower.endswith((".pt", ".pth")):
            obj = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(obj, torch.Tensor):
                return {name or "input": obj}
            if isinstance(obj, dict) and obj and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
                return dict(obj)
            raise usage(f"--inputs {path}: holds {type(obj).__name__}", "a tensor or a dict {name: tensor}")
    except RefsError:
        raise
    except Exception as e:  # noqa: BLE001 - reported with the file
        if "Weights only load failed" in str(e):
            first = str(e).strip().split("\n")[0]
            raise RefsError(
                "E_UNSAFE_PICKLE",
                f"--inputs {path}: refused to unpickle it (torch.load weights_only=True): {first[:300]}",
                "a .pt file holding only tensors (a dict {name: tensor} or one tensor)",
            ) from e
        raise RefsError("E_IO", f"--inputs {path}: cannot read: {type(e).__name__}: {str(e).strip()[:500]}", "a readable tensor file") from e
    raise usage(f"--inputs {path}: unknown file type", ".pt, .npy, .npz or .safetensors")


# -- the model -----------------------------------------------------------------------------------
def load_model(kind: str, path: str, factory: str | None) -> tuple[Any, Any]:
    import torch

    if not os.path.isfile(path):
        raise RefsError("E_IO", f"model {path} does not exist", "a .py factory file, a TorchScript file or a .pt2 ExportedProgram")
    try:
        if kind == "torchscript":
            return torch.jit.load(path, map_location="cpu"), None
        if kind == "exported":
            ep = torch.export.load(path)
            return ep.module(), ep
        folder = os.path.dirname(os.path.abspath(path))
        if folder not in sys.path:
            sys.path.insert(0, folder)
        spec = importlib.util.spec_from_file_location("benchalign_refs_model", path)
        if spec is None or spec.loader is None:
            raise RefsError("E_CONFIG", f"cannot import {path}", "a Python file")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["benchalign_refs_model"] = mod
        spec.loader.exec_module(mod)
        fn = getattr(mod, factory or "", None)
        if not callable(fn):
            raise usage(f"{path} has no function {factory!r}", f"def {factory}() -> torch.nn.Module in {path}")
        module = fn()
        if not isinstance(module, torch.nn.Module):
            raise usage(f"{path}:{factory}() returned {type(module).__name__}", "a torch.nn.Module")
        return module, None
    except RefsError:
        raise
    except Exception as e:  # noqa: BLE001 - reported with the file
        raise RefsError("E_CONFIG", f"cannot load {kind} model {path}: {type(e).__name__}: {str(e).strip()[:1000]}", f"a {kind} model") from e


def forward_params(module: Any) -> list[str] | None:
    try:
        schema = getattr(getattr(module, "forward", None), "schema", None)
        if schema is not None:  # TorchScript
            return [a.name for a in schema.arguments[1:]]
        return [p.name for p in inspect.signature(module.forward).parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError, AttributeError):
        return None


def flatten(raw: Any) -> list[tuple[str | None, Any]]:
    import torch

    try:
        return flatten_tensors(raw, torch.Tensor)
    except TypeError as e:
        raise RefsError("E_CONFIG", f"the model returned {e}", "a tensor, or a tuple/list/dict of tensors") from None


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export_onnx(module: Any, ep: Any, args: tuple[Any, ...], in_names: list[str], out_names: list[str], path: str, opset: int) -> str:
    import onnx
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if ep is not None:
            torch.onnx.export(ep, args, path, input_names=in_names, output_names=out_names, opset_version=opset, dynamo=True, external_data=False)
            how = "torch.onnx.export(ExportedProgram, dynamo=True)"
        else:
            torch.onnx.export(module, args, path, input_names=in_names, output_names=out_names, opset_version=opset, dynamo=False, do_constant_folding=True)
            how = "torch.onnx.export(dynamo=False)"
    onnx.checker.check_model(onnx.load(path), full_check=True)
    return how


def main_request(req: dict[str, Any]) -> dict[str, Any]:
    import torch

    kind, model_path, factory = req["kind"], req["modelPath"], req.get("factory")
    out_dir = req["out"]
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(int(req.get("seed", 0)))
    torch.set_num_threads(max(1, int(req.get("threads", 1))))
    torch.set_float32_matmul_precision("highest")

    if req.get("inputFile"):
        inputs = read_inputs(req["inputFile"], req.get("inputName"))
        source = {"file": req["inputFile"]}
    else:
        specs = [parse_spec(s) for s in req.get("inputSpecs", [])]
        if not specs:
            raise usage("no inputs given", "--inputs name:shape[:dtype[:low,high]] (repeatable) or --inputs <file>")
        inputs = random_inputs(specs, int(req.get("seed", 0)))
        source = {"specs": req.get("inputSpecs"), "seed": int(req.get("seed", 0))}

    module, ep = load_model(kind, model_path, factory)
    if hasattr(module, "eval"):
        try:
            module.eval()
        except (NotImplementedError, RuntimeError):
            pass
    params = forward_params(module)
    if params and set(params) >= set(inputs) and len(inputs) > 1:
        inputs = {k: inputs[k] for k in params if k in inputs}
    in_names = list(inputs)
    args = tuple(t.contiguous() for t in inputs.values())
    try:
        with torch.inference_mode():
            raw = module(*args)
    except Exception as e:  # noqa: BLE001 - the model's own error, with the input shapes
        shapes = ", ".join(f"{k}{list(v.shape)}:{str(v.dtype).removeprefix('torch.')}" for k, v in inputs.items())
        raise RefsError("E_CONFIG", f"the model failed on inputs {shapes}: {type(e).__name__}: {str(e).strip()[:1000]}", "inputs that fit the model's forward()") from e
    flat = flatten(raw)
    names = req.get("outputNames") or None
    if names is not None and len(names) != len(flat):
        raise usage(f"--output-names gives {len(names)} names, the model returned {len(flat)} tensors", f"{len(flat)} names")
    if names is None:
        names = [k or ("output" if len(flat) == 1 else f"output_{i}") for i, (k, _) in enumerate(flat)]
    if len(set(names)) != len(names) or set(names) & set(in_names):
        raise usage(f"output names {names} repeat, or reuse an input name {in_names}", "unique names")
    outputs = {n: t.detach().clone().contiguous() for n, (_, t) in zip(names, flat)}

    files: dict[str, str] = {}
    torch.save({k: v.clone() for k, v in inputs.items()}, os.path.join(out_dir, "inputs.pt"))
    torch.save(outputs, os.path.join(out_dir, "outputs.pt"))
    files["inputs"] = "inputs.pt"
    files["outputs"] = "outputs.pt"
    if req.get("safetensors"):
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in inputs.items()}, os.path.join(out_dir, "inputs.safetensors"))
        save_file(outputs, os.path.join(out_dir, "outputs.safetensors"))
        files["inputsSafetensors"] = "inputs.safetensors"
        files["outputsSafetensors"] = "outputs.safetensors"
    onnx_info = None
    if req.get("onnx"):
        onnx_path = os.path.join(out_dir, "model.onnx")
        try:
            how = export_onnx(module, ep, args, in_names, names, onnx_path, int(req.get("opset", 17)))
        except Exception as e:  # noqa: BLE001 - the exporter's message
            raise RefsError("E_CONVERT", f"ONNX export failed: {type(e).__name__}: {str(e).strip()[:1500]}", "a model torch.onnx.export supports") from e
        files["onnx"] = "model.onnx"
        onnx_info = {"exporter": how, "opset": int(req.get("opset", 17)), "sha256": sha256_file(onnx_path)}

    def meta(t: Any) -> dict[str, Any]:
        return {"dtype": str(t.dtype).removeprefix("torch."), "dims": list(t.shape)}

    import numpy

    manifest = {
        "generator": "benchalign refs",
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "device": "cpu",
        "precision": "fp32",
        "model": {"kind": kind, "path": model_path, **({"factory": factory} if factory else {}), "sha256": sha256_file(model_path)},
        "inputSource": source,
        "inputs": [{"name": k, **meta(v)} for k, v in inputs.items()],
        "outputs": [{"name": k, **meta(v)} for k, v in outputs.items()],
        "files": files,
        **({"onnx": onnx_info} if onnx_info else {}),
    }
    with open(os.path.join(out_dir, "refs.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


def main() -> int:
    ap = argparse.ArgumentParser(description="benchalign refs (driven by the benchalign CLI)")
    ap.add_argument("--request", required=True)
    args = ap.parse_args()
    try:
        with open(args.request, encoding="utf-8") as f:
            req = json.load(f)
        main_request(req)
        return 0
    except RefsError as e:
        err = {"code": e.code, "message": str(e), **({"expected": e.expected} if e.expected else {})}
        sys.stderr.write(ERROR_PREFIX + json.dumps(err) + "\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
