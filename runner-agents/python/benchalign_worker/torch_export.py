"""The PyTorch form of a suite model as a ``torch.export`` ExportedProgram, for the converters
of the engines that start from PyTorch rather than ONNX (ExecuTorch, LiteRT).

A converter request names the model as the suite's ``pytorch`` field does ({kind, path,
factory}) and gives the example inputs ([{name, dtype, dims}], in forward() order). An
ExportedProgram (.pt2) is used as exported (re-exported at the example shapes); a factory's
module is exported with ``torch.export.export``; a TorchScript file goes through PyTorch's
TorchScript-to-ExportedProgram converter (``torch._export.converter.TS2EPConverter``).
Converter requests are written by the runner and read here: the model file is the user's own
(a factory is their code, run as the pytorch engine and `benchalign refs` run it).
"""

from __future__ import annotations

import json
import sys
from typing import Any

_TORCH_DTYPES = {
    "float32": "float32",
    "float16": "float16",
    "bfloat16": "bfloat16",
    "float64": "float64",
    "int64": "int64",
    "int32": "int32",
    "int16": "int16",
    "int8": "int8",
    "uint8": "uint8",
    "bool": "bool",
}


class ConvertError(Exception):
    """A conversion failure: printed as one line on stderr, exit code 1."""


def read_request(args: list[str], tool: str) -> dict[str, Any]:
    if len(args) != 2 or args[0] != "--request":
        raise ConvertError(f"{tool}: usage: --request <request.json> | --version")
    with open(args[1], encoding="utf-8") as f:
        req = json.load(f)
    if not isinstance(req, dict) or not isinstance(req.get("pytorch"), dict) or not isinstance(req.get("inputs"), list) or not isinstance(req.get("out"), str):
        raise ConvertError(f"{tool}: malformed request {args[1]}: expected {{pytorch: {{kind, path}}, inputs: [...], out}}")
    return req


def example_inputs(specs: list[dict[str, Any]]) -> tuple[Any, ...]:
    """Zeros of each input's dtype and dims (symbolic dims already pinned by the runner)."""
    import torch

    out = []
    for s in specs:
        dtype = _TORCH_DTYPES.get(str(s.get("dtype")))
        dims = s.get("dims")
        if dtype is None or not isinstance(dims, list) or not all(isinstance(d, int) and d >= 0 for d in dims):
            raise ConvertError(f"input {s.get('name')!r}: dtype {s.get('dtype')!r} dims {dims!r} cannot make an example input (need a numeric dtype and fixed dims)")
        out.append(torch.zeros(dims, dtype=getattr(torch, dtype)))
    return tuple(out)


def exported_program(spec: dict[str, Any], args: tuple[Any, ...]) -> tuple[Any, str]:
    """(ExportedProgram, how it was made) for the model ``spec`` at the example ``args``."""
    import torch

    from .refs import RefsError, load_model

    kind, path, factory = spec.get("kind"), spec.get("path"), spec.get("factory")
    if kind not in ("torchscript", "exported", "factory") or not isinstance(path, str):
        raise ConvertError(f"pytorch model {spec!r}: expected kind torchscript|exported|factory and a path")
    try:
        module, ep = load_model(kind, path, factory if isinstance(factory, str) else None)
    except RefsError as e:
        raise ConvertError(str(e)) from e
    try:
        if kind == "torchscript":
            from torch._export.converter import TS2EPConverter

            return TS2EPConverter(module, args).convert(), "torch._export.converter.TS2EPConverter(TorchScript)"
        if ep is not None:
            return torch.export.export(ep.module(), args), "torch.export.export(ExportedProgram.module())"
        module.eval()
        return torch.export.export(module, args), "torch.export.export(factory module)"
    except Exception as e:  # noqa: BLE001 - torch.export's own message, with the op it names
        raise ConvertError(f"torch.export failed on {path}: {type(e).__name__}: {' '.join(str(e).split())[:1500]}") from e


def fail(e: Exception) -> int:
    sys.stderr.write(f"{e}\n")
    return 1
