"""PyTorch intermediates for `benchalign localize`: runs the PyTorch form of a suite model once,
on CPU in float32, with a forward hook on every submodule, and writes each module's output.

Driven by the CLI: ``python -m benchalign_worker.hooks --request req.json``. The request:
``{"pytorch": {kind, path, factory?, inputs?, outputs?}, "modelPath": onnx, "shapes": {...},
"inputs": {name: npyPath}, "out": dir, "precision"?: fp32|fp16|bf16, "options"?: {...}}``. The
model is loaded and run exactly as the `pytorch` engine loads and runs it (pytorch_worker.py), at
``precision`` with the engine ``options`` (default fp32, 1 thread). An ExportedProgram is unflattened (``torch.export.unflatten``) so
its submodules exist again; a TorchScript module cannot take forward hooks and is refused.

Writes ``<out>/hooks.json``: ``{"torch": version, "modules": [{name, type, order, leaf, dims,
dtype, file}]}`` and one ``<out>/<k>.npy`` per module call whose output is one tensor. The k-th
call (k >= 1) of a module called several times is named ``path#k``. Errors: a line
``benchalign-hooks-error: {code, message, expected}`` on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

ERROR_PREFIX = "benchalign-hooks-error: "


class HooksError(Exception):
    def __init__(self, code: str, message: str, expected: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.expected = expected


def run(req: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import torch

    from .protocol import WorkerError
    from .pytorch_worker import PyTorchEngine

    spec = req.get("pytorch")
    if not isinstance(spec, dict):
        raise HooksError("E_CONFIG", "the suite model has no `pytorch` entry", "pytorch: {factory|exported: ...} in the model entry (docs/suites.md), or --against <engine>")
    if spec.get("kind") == "torchscript":
        raise HooksError(
            "E_UNSUPPORTED",
            f"TorchScript modules cannot take forward hooks ({spec.get('path')})",
            "the model's PyTorch form as a factory (file.py:function) or an ExportedProgram (.pt2), or --against <engine> to compare two engines",
        )
    engine = PyTorchEngine()
    engine.load_request = {"pytorch": spec}
    try:
        options = req.get("options") if isinstance(req.get("options"), dict) else {"threads": 1}
        engine.load(str(req.get("modelPath", "")), options, str(req.get("precision") or "fp32"), req.get("shapes") or None)
    except WorkerError as e:
        raise HooksError(e.benchalign_code or "E_ENGINE", str(e), e.expected) from e
    module = engine.module
    if spec.get("kind") == "exported":
        ep = torch.export.load(spec["path"])
        module = torch.export.unflatten(ep)
        engine.module = module
    out = req["out"]
    os.makedirs(out, exist_ok=True)
    records: list[dict[str, Any]] = []
    calls: dict[str, int] = {}
    named = [(n, m) for n, m in module.named_modules() if n != ""]
    if not named:
        raise HooksError("E_UNSUPPORTED", "the PyTorch module has no submodules to hook", "a module built from nn.Module children, or --against <engine>")

    def hook_for(name: str, leaf: bool):
        def hook(mod: Any, _inputs: Any, output: Any) -> None:
            k = calls.get(name, 0)
            calls[name] = k + 1
            call = name if k == 0 else f"{name}#{k}"
            rec: dict[str, Any] = {"name": call, "type": type(mod).__name__, "order": len(records), "leaf": leaf}
            if isinstance(output, torch.Tensor):
                t = output.detach()
                if t.dtype == torch.bfloat16 or t.dtype == torch.float16:
                    t = t.float()
                arr = t.cpu().contiguous().numpy()
                file = os.path.join(out, f"{len(records)}.npy")
                np.save(file, arr)
                rec.update({"dims": list(arr.shape), "dtype": str(arr.dtype), "file": file})
            else:
                rec["note"] = f"output is {type(output).__name__}, not one tensor"
            records.append(rec)

        return hook

    handles = [m.register_forward_hook(hook_for(n, len(list(m.children())) == 0)) for n, m in named]
    feeds = {name: np.load(path, allow_pickle=False) for name, path in (req.get("inputs") or {}).items()}
    try:
        prepared = engine.prepare_inputs(feeds)
        engine.run(prepared)  # inference mode, and autocast or cast for fp16/bf16 as the pytorch engine runs them
    except WorkerError as e:
        raise HooksError(e.benchalign_code or "E_ENGINE", str(e), e.expected) from e
    finally:
        for h in handles:
            h.remove()
    manifest = {"torch": torch.__version__, "modules": records}
    with open(os.path.join(out, "hooks.json"), "w") as f:
        json.dump(manifest, f)
    return manifest


def main() -> int:
    ap = argparse.ArgumentParser(description="benchalign localize: PyTorch module outputs (driven by the benchalign CLI)")
    ap.add_argument("--request", required=True)
    args = ap.parse_args()
    try:
        with open(args.request) as f:
            req = json.load(f)
        run(req)
        return 0
    except HooksError as e:
        err = {"code": e.code, "message": str(e), **({"expected": e.expected} if e.expected else {})}
    except Exception as e:  # noqa: BLE001 - reported to the harness with its type
        err = {"code": "E_ENGINE", "message": f"{type(e).__name__}: {str(e).strip()[:1500]}"}
    sys.stderr.write(ERROR_PREFIX + json.dumps(err) + "\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
