"""PyTorch intermediates for `benchalign localize`: runs the PyTorch form of a suite model once,
on CPU in float32, with a forward hook on every submodule, and writes each module's output.

Driven by the CLI: ``python -m benchalign_worker.hooks --request req.json``. The request:
``{"pytorch": {kind, path, factory?, inputs?, outputs?}, "modelPath": onnx, "shapes": {...},
"inputs": {name: npyPath}, "out": dir, "precision"?: fp32|fp16|bf16, "options"?: {...}}``. The
model is loaded and run exactly as the `pytorch` engine loads and runs it (pytorch_worker.py), at
``precision`` with the engine ``options`` (default fp32, 1 thread). An ExportedProgram is unflattened (``torch.export.unflatten``) so
its submodules exist again. A TorchScript module (``torch.jit.load``; it cannot take forward hooks) is
captured from its graph instead (``torchscript_capture``): the same records, in the same order.

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


def _record(name: str, type_name: str, leaf: bool, output: Any, order: int, out: str) -> dict[str, Any]:
    """One module call's record; its output, when one tensor, saved as ``<out>/<order>.npy``."""
    import numpy as np
    import torch

    rec: dict[str, Any] = {"name": name, "type": type_name, "order": order, "leaf": leaf}
    if isinstance(output, torch.Tensor):
        t = output.detach()
        if t.dtype == torch.bfloat16 or t.dtype == torch.float16:
            t = t.float()
        arr = t.cpu().contiguous().numpy()
        file = os.path.join(out, f"{order}.npy")
        np.save(file, arr)
        rec.update({"dims": list(arr.shape), "dtype": str(arr.dtype), "file": file})
    else:
        rec["note"] = f"output is {type(output).__name__}, not one tensor"
    return rec


# getModuleHierarchy() segments that are no submodule: a method of the same module, a free function
_NOT_A_SUBMODULE = ("SELF", "UNKNOWN_INSTANCE")


def module_path(hierarchy: str) -> tuple[str, str]:
    """``block1(Block).conv1(Conv2d)`` (a node's ``getModuleHierarchy()`` after inlining) ->
    ``("block1.conv1", "Conv2d")``: the submodule path and its type. Method calls on the same
    module (``SELF``) and free functions (``UNKNOWN_INSTANCE``) are left out; ``("", "")`` for the
    top-level module's own nodes."""
    names: list[str] = []
    type_name = ""
    i = 0
    while i < len(hierarchy):
        open_ = hierarchy.find("(", i)
        if open_ < 0:
            raise ValueError(f"unexpected module hierarchy {hierarchy!r}")
        depth, j = 0, open_
        while j < len(hierarchy):
            depth += {"(": 1, ")": -1}.get(hierarchy[j], 0)
            if depth == 0:
                break
            j += 1
        instance = hierarchy[i:open_]
        if instance not in _NOT_A_SUBMODULE:
            names.append(instance)
            type_name = hierarchy[open_ + 1 : j]
        i = j + 2  # past ")" and "."
    return ".".join(names), type_name


def torchscript_capture(engine: Any, module: Any, feeds: dict[str, Any], out: str, source: str = "") -> list[dict[str, Any]]:
    """The forward-hook records of a TorchScript module, which takes no hooks: its forward graph is
    inlined (``torch._C._jit_pass_inline`` on a copy), each node's ``getModuleHierarchy()`` names
    the submodule call it came from, and the output of every module call (the one tensor of the
    call's contiguous run of nodes that is used after it) becomes an extra graph output. The copy
    runs once as a TorchScript function on the loaded module (nothing is unpickled or executed
    beyond what ``torch.jit.load`` loads), through the pytorch engine's ``run`` (inference mode,
    autocast or cast as configured). Records come in hook order: by the node that ends each call,
    a child before the parent that ends with it. A module called several times gets ``path#k``.

    Limits: only the top-level block is read (a module called inside an ``if``/loop of a scripted
    module is not captured), and two back-to-back calls of the same module read as one call."""
    import torch

    from .protocol import WorkerError

    forward = getattr(module, "forward", None)
    if forward is None or not hasattr(forward, "graph"):
        raise HooksError("E_UNSUPPORTED", f"the TorchScript module {source} has no forward method graph", "a torch.jit.trace/script module saved with torch.jit.save, or --against <engine>")
    graph = forward.graph.copy()
    torch._C._jit_pass_inline(graph)
    types = {n: getattr(m, "original_name", type(m).__name__) for n, m in module.named_modules()}
    leaves = {n for n, m in module.named_modules() if not list(m.children())}

    # the nodes that compute (constants and attribute reads are hoisted anywhere), with their module path
    nodes: list[tuple[Any, str]] = []
    hier_types: dict[str, str] = {}
    for node in graph.nodes():
        if node.kind() in ("prim::Constant", "prim::GetAttr"):
            continue
        path, type_name = module_path(node.getModuleHierarchy())
        if path == "" and not any(isinstance(o.type(), torch._C.TensorType) for o in node.outputs()):
            continue  # glue without a module scope (the `if self.training` of a scripted BatchNorm): no call boundary
        nodes.append((node, path))
        if path:
            hier_types.setdefault(path, type_name)
    # contiguous runs per module path (and every ancestor path): one run = one call
    calls: list[dict[str, Any]] = []
    open_runs: dict[str, dict[str, Any]] = {}
    for index, (node, path) in enumerate(nodes):
        prefixes = {".".join(path.split(".")[: k + 1]) for k in range(path.count(".") + 1)} if path else set()
        for p in [p for p in open_runs if p not in prefixes]:
            calls.append(open_runs.pop(p))
        for p in prefixes:
            run_ = open_runs.setdefault(p, {"path": p, "nodes": [], "end": index})
            run_["nodes"].append(node)
            run_["end"] = index
    calls.extend(open_runs.values())
    if not calls:
        raise HooksError(
            "E_UNSUPPORTED",
            f"the TorchScript module {source} calls no submodules: its inlined forward graph has no node with a module scope (getModuleHierarchy), so there is no module output to compare",
            "a module built from nn.Module children, traced or scripted, or --against <engine>",
        )
    calls.sort(key=lambda c: (c["end"], -c["path"].count(".")))

    computing = {node for node, _ in nodes}
    top = graph.return_node()

    def consumer(user: Any) -> Any:
        """The top-level node that holds ``user`` (a node nested in an if/loop block counts as its holder)."""
        while user.owningBlock().owningNode() is not None:
            user = user.owningBlock().owningNode()
        return user

    for c in calls:
        inside = set(c["nodes"])
        leaving = []
        for node in c["nodes"]:
            for v in node.outputs():
                users = {consumer(u.user) for u in v.uses()}
                # read after the call by computing nodes or returned; glue without a scope does not count
                if any(u is top or (u in computing and u not in inside) for u in users):
                    leaving.append(v)
        c["value"] = leaving[0] if len(leaving) == 1 and isinstance(leaving[0].type(), torch._C.TensorType) else None
        c["note"] = None if c["value"] is not None else f"the call leaves {len(leaving)} value(s) ({', '.join(str(v.type()) for v in leaving)}), not one tensor"
    exposed = [c for c in calls if c["value"] is not None]
    for c in exposed:
        graph.registerOutput(c["value"])
    graph.makeMultiOutputIntoTuple()
    function = torch._C._create_function_from_graph("benchalign_localize_capture", graph)

    saved_module = engine.module
    engine.module = lambda *args: function(saved_module._c, *args)
    try:
        result = engine.run(engine.prepare_inputs(feeds))
    except WorkerError as e:
        raise HooksError(e.benchalign_code or "E_ENGINE", str(e), e.expected) from e
    finally:
        engine.module = saved_module
    values = dict(zip([id(c) for c in exposed], list(result)[1:]))

    records: list[dict[str, Any]] = []
    count: dict[str, int] = {}
    for c in calls:
        k = count.get(c["path"], 0)
        count[c["path"]] = k + 1
        name = c["path"] if k == 0 else f"{c['path']}#{k}"
        leaf = c["path"] in leaves
        type_name = types.get(c["path"]) or hier_types.get(c["path"], "?")
        if id(c) in values:
            records.append(_record(name, type_name, leaf, values[id(c)], len(records), out))
        else:
            rec = {"name": name, "type": type_name, "order": len(records), "leaf": leaf, "note": c["note"]}
            records.append(rec)
    return records


def run(req: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import torch

    from .protocol import WorkerError
    from .pytorch_worker import PyTorchEngine

    spec = req.get("pytorch")
    if not isinstance(spec, dict):
        raise HooksError("E_CONFIG", "the suite model has no `pytorch` entry", "pytorch: {factory|exported|torchscript: ...} in the model entry (docs/suites.md), or --against <engine>")
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
    feeds = {name: np.load(path, allow_pickle=False) for name, path in (req.get("inputs") or {}).items()}
    if spec.get("kind") == "torchscript":
        records = torchscript_capture(engine, module, feeds, out, str(spec.get("path", "")))
        manifest = {"torch": torch.__version__, "modules": records}
        with open(os.path.join(out, "hooks.json"), "w") as f:
            json.dump(manifest, f)
        return manifest
    named = [(n, m) for n, m in module.named_modules() if n != ""]
    if not named:
        raise HooksError("E_UNSUPPORTED", "the PyTorch module has no submodules to hook", "a module built from nn.Module children, or --against <engine>")

    def hook_for(name: str, leaf: bool):
        def hook(mod: Any, _inputs: Any, output: Any) -> None:
            k = calls.get(name, 0)
            calls[name] = k + 1
            call = name if k == 0 else f"{name}#{k}"
            records.append(_record(call, type(mod).__name__, leaf, output, len(records), out))

        return hook

    handles = [m.register_forward_hook(hook_for(n, len(list(m.children())) == 0)) for n, m in named]
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
