"""TVM's compiler for the tvm runner: ONNX through the Relax frontend, built with ``tvm.compile``
for a target (default: ``llvm`` with this host's ``-mcpu``), exported as a shared library.

Usage: python -m benchalign_worker.tvm_convert --request <request.json>
       python -m benchalign_worker.tvm_convert --version

The request: {"model": ONNX path, "out": folder, "shapes": {input: dims} | null,
"target": a target as a JSON object (``{"kind": "llvm", "mcpu": "znver4"}``) or null for the
host's, "optLevel": 0..3, "tuneTrials": N (0: no tuning)}. It writes ``model.so`` (the Relax VM
executable with its kernels) and ``model.so.convert.json``: the TVM version, the target as TVM
resolved it, the opt level, the input shapes it was built for, the ONNX inputs and outputs
(names, dtypes, dims), the dims it pinned (``pinned``: input -> the ONNX dims, for inputs with a
symbolic dim) and, when tuned, ``tuning`` (trials asked, tasks, trials per task, seconds).

With ``tuneTrials`` > 0 the module goes through Relax's ``static_shape_tuning`` pipeline first:
MetaSchedule tunes its fused kernels on this machine (evolutionary search, XGBoost cost model,
at most N measured candidates in all, spread over the tasks) into a JSON database in
``<out>/tuning``, and the build applies the best schedule found for each task.

When the model cannot be built it exits 1 after writing ``<out>/error.json``: ``{"message": the
engine's own message in one line, "ops": the ONNX ops the frontend named as unsupported}``.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
from typing import Any


def host_target() -> dict[str, Any]:
    import tvm

    return {"kind": "llvm", "mcpu": str(tvm.target.codegen.llvm_get_system_cpu())}


def _fail(out_dir: str, message: str, ops: list[str] | None = None) -> int:
    """Writes error.json (the runner's message) and the message to stderr; exit code 1."""
    with open(os.path.join(out_dir, "error.json"), "w", encoding="utf-8") as f:
        json.dump({"message": message, "ops": ops or []}, f)
    print(f"tvm_convert: {message}", file=sys.stderr)
    return 1


def _stage(out_dir: str, stage: str) -> None:
    """What the converter is doing, for the runner's message if the process dies (a segfault)."""
    with open(os.path.join(out_dir, "stage.txt"), "w", encoding="utf-8") as f:
        f.write(stage)


def _one_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {' '.join(str(e).split())[:1500]}"


def unsupported_ops(message: str) -> list[str]:
    """The ops the Relax ONNX frontend names in its OpNotImplemented message."""
    m = re.search(r"operators are not supported for frontend ONNX:\s*([A-Za-z0-9_.,\s]+)", message)
    return [op for op in re.split(r"[,\s]+", m.group(1)) if op] if m else []


def tune(mod: Any, target: Any, trials: int, work_dir: str) -> tuple[Any, dict[str, Any]]:
    """MetaSchedule through Relax's static_shape_tuning pipeline; the tuned module and what ran."""
    import tvm
    from tvm import relax
    from tvm.s_tir import meta_schedule as ms

    # the tasks the tuner will see, to spread the budget over them (the pipeline's default gives
    # the whole budget to the first task)
    with target:
        lowered = tvm.transform.Sequential(
            [relax.transform.DecomposeOpsForInference(), relax.transform.CanonicalizeBindings(), relax.get_pipeline("zero")]
        )(mod)
    tasks = ms.relax_integration.extract_tasks(lowered, target)
    per_task = max(1, math.ceil(trials / max(1, len(tasks))))
    t0 = time.perf_counter()
    tuned = relax.get_pipeline("static_shape_tuning", target=target, total_trials=trials, work_dir=work_dir, max_trials_per_task=per_task)(mod)
    seconds = time.perf_counter() - t0
    return tuned, {"trials": trials, "tasks": len(tasks), "trialsPerTask": per_task, "seconds": round(seconds, 3), "database": os.path.basename(work_dir)}


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
    trials = int(req.get("tuneTrials") or 0)
    if trials > 0 and target.kind.name == "llvm" and "num-cores" not in target.attrs:
        # MetaSchedule refuses an llvm target without num-cores (it sizes the parallel loops
        # for it): this machine's physical cores, recorded with the target
        import psutil

        target = tvm.target.Target({**json.loads(str(target)), "num-cores": int(psutil.cpu_count(logical=False) or 1)})
    _stage(out_dir, "the Relax ONNX import")
    model = onnx.load(model_path)
    try:
        mod = from_onnx(model, shape_dict=shapes, keep_params_in_input=False)
    except Exception as e:  # noqa: BLE001 - the frontend's message names the operators it lacks
        ops = unsupported_ops(str(e))
        what = f"op{'s' if len(ops) > 1 else ''} {', '.join(ops)}" if ops else model_path
        return _fail(out_dir, f"TVM cannot convert {what}: {_one_line(e)}; the Relax ONNX frontend, importing {model_path}", ops)
    tuning: dict[str, Any] | None = None
    if trials > 0:
        _stage(out_dir, f"MetaSchedule tuning (tuneTrials {trials})")
        try:
            mod, tuning = tune(mod, target, trials, os.path.join(out_dir, "tuning"))
        except Exception as e:  # noqa: BLE001 - MetaSchedule's own message
            return _fail(out_dir, f"TVM MetaSchedule tuning failed for {model_path}: {_one_line(e)}")
    else:
        mod = relax.transform.DecomposeOpsForInference()(mod)
    _stage(out_dir, "tvm.compile")
    try:
        with tvm.transform.PassContext(opt_level=opt_level):
            ex = tvm.compile(mod, target=target)
    except Exception as e:  # noqa: BLE001 - TVM's own message
        return _fail(out_dir, f"tvm.compile failed for {model_path}: {_one_line(e)}")
    lib = os.path.join(out_dir, "model.so")
    _stage(out_dir, "export_library")
    ex.export_library(lib)
    pinned = {m["name"]: list(m["dims"]) for m in inputs if any(not isinstance(d, int) or d <= 0 for d in m["dims"])}
    for m in inputs:
        m["dims"] = list(shapes[m["name"]])
    record = {
        "converter": "tvm.relax.frontend.onnx + tvm.compile",
        "version": tvm.__version__,
        "target": json.loads(str(target)),
        "optLevel": opt_level,
        "inputs": inputs,
        "outputs": outputs,
        "pinned": pinned,
        "tuneTrials": trials,
    }
    if tuning is not None:
        record["tuning"] = tuning
    with open(lib + ".convert.json", "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
