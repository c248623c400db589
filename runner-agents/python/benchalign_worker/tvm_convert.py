"""TVM's compiler for the tvm runner: ONNX through the Relax frontend, built with ``tvm.compile``
for a target (default: ``llvm`` with this host's ``-mcpu``), exported as a shared library.

Usage: python -m benchalign_worker.tvm_convert --request <request.json>
       python -m benchalign_worker.tvm_convert --version

The request: {"model": ONNX path, "out": folder, "shapes": {input: dims} | null,
"target": a target as a JSON object (``{"kind": "llvm", "mcpu": "znver4"}``) or null for the
host's, "optLevel": 0..3}. It writes ``model.so`` (the Relax VM executable with its kernels)
and ``model.so.convert.json``: the TVM version, the target as TVM resolved it, the opt level,
the input shapes it was built for and the ONNX inputs and outputs (names, dtypes, dims).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def host_target() -> dict[str, Any]:
    import tvm

    return {"kind": "llvm", "mcpu": str(tvm.target.codegen.llvm_get_system_cpu())}


def main(args: list[str]) -> int:
    import tvm

    if args == ["--version"]:
        print(json.dumps({"tvm": tvm.__version__, "hostTarget": host_target()}))
        return 0
    if len(args) != 2 or args[0] != "--request":
        print("tvm_convert: usage: --request <request.json> | --version", file=sys.stderr)
        return 2
    with open(args[1], encoding="utf-8") as f:
        req = json.load(f)
    import onnx
    from tvm import relax
    from tvm.relax.frontend.onnx import from_onnx

    from .onnx_io import onnx_io

    model_path, out_dir = req["model"], req["out"]
    inputs, outputs = onnx_io(model_path, "tvm")
    shapes: dict[str, list[int]] = dict(req.get("shapes") or {})
    for m in inputs:
        if m["name"] not in shapes:
            dims = m["dims"]
            if any(not isinstance(d, int) or d <= 0 for d in dims):
                # a symbolic dim is built as 1: the Relax VM is built for static shapes here
                dims = [d if isinstance(d, int) and d > 0 else 1 for d in dims]
            shapes[m["name"]] = dims
    target_spec = req.get("target") or host_target()
    try:
        target = tvm.target.Target(target_spec)
    except Exception as e:  # noqa: BLE001 - TVM's own message
        print(f"tvm_convert: target {json.dumps(target_spec)} is not a TVM target: {e}", file=sys.stderr)
        return 2
    opt_level = int(req.get("optLevel", 3))
    model = onnx.load(model_path)
    try:
        mod = from_onnx(model, shape_dict=shapes, keep_params_in_input=False)
    except Exception as e:  # noqa: BLE001 - the frontend's message names the operators it lacks
        print(f"tvm_convert: the Relax ONNX frontend cannot import {model_path}: {type(e).__name__}: {' '.join(str(e).split())[:1500]}", file=sys.stderr)
        return 1
    mod = relax.transform.DecomposeOpsForInference()(mod)
    try:
        with tvm.transform.PassContext(opt_level=opt_level):
            ex = tvm.compile(mod, target=target)
    except Exception as e:  # noqa: BLE001 - TVM's own message
        print(f"tvm_convert: tvm.compile failed for {model_path}: {type(e).__name__}: {' '.join(str(e).split())[:1500]}", file=sys.stderr)
        return 1
    lib = os.path.join(out_dir, "model.so")
    ex.export_library(lib)
    for m in inputs:
        m["dims"] = list(shapes[m["name"]])
    record = {
        "converter": "tvm.relax.frontend.onnx + tvm.compile",
        "version": tvm.__version__,
        "target": json.loads(str(target)),
        "optLevel": opt_level,
        "inputs": inputs,
        "outputs": outputs,
    }
    with open(lib + ".convert.json", "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
