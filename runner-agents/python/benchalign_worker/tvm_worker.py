"""The TVM worker: runs a Relax VM executable that the runner's `prepare` built from ONNX
(benchalign_worker.tvm_convert: Relax ONNX frontend, ``tvm.compile`` for ``llvm`` with the
host's ``-mcpu``, exported as ``model.so``), on ``tvm.cpu()``.

Options: ``threads`` (the TVM runtime thread pool, as TVM_NUM_THREADS sets it; default 1),
and the build options the runner's `prepare` applies: ``optLevel`` (PassContext opt_level,
0..3, default 3), ``target`` (a TVM target as a JSON object, default the host's
``{"kind": "llvm", "mcpu": <host cpu>}``) and ``tuneTrials`` (MetaSchedule's budget, default 0:
no tuning).

Next to the library the runner leaves ``model.so.convert.json`` (TVM version, the target as TVM
resolved it, opt level, the inputs and outputs it was built for), parsed defensively; the
worker reports the target and the tuning, and notes the dynamic dims the build pinned (TVM
builds static shapes here). Precision: the build computes in the model's own types (fp32 for
the bundled models); fp16/bf16/int8 would need a converted model and are refused.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .options import Options
from .protocol import Engine, LoadInfo, Unsupported, WorkerError, config_error, serve, tensor_meta, profiled_runs

_SIDECAR_MAX_BYTES = 1 << 20


def _read_record(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise config_error(f"tvm: {path} is missing", "a model.so built by the tvm runner's prepare (it writes model.so.convert.json next to it)")
    if os.path.getsize(path) > _SIDECAR_MAX_BYTES:
        raise config_error(f"tvm: {path} is larger than {_SIDECAR_MAX_BYTES} bytes", "a small JSON object")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except ValueError as e:
        raise config_error(f"tvm: {path} is not valid JSON: {e}", "a JSON object") from e
    ok = isinstance(data, dict) and all(
        isinstance(data.get(k), list)
        and all(isinstance(m, dict) and isinstance(m.get("name"), str) and isinstance(m.get("dtype"), str) and isinstance(m.get("dims"), list) for m in data[k])
        for k in ("inputs", "outputs")
    )
    if not ok:
        raise config_error(f"tvm: {path} is malformed", "{inputs: [{name, dtype, dims}], outputs: [...], target, optLevel}")
    return data


class TvmEngine(Engine):
    name = "tvm"
    thread_safe = False  # one VM, one caller

    def __init__(self) -> None:
        os.environ.setdefault("TVM_NUM_THREADS", "1")
        # `import tvm` takes seconds: `hello` (engines list, an agent's probe of every engine)
        # only checks that it is there; the first load imports it
        import importlib.util

        if importlib.util.find_spec("tvm") is None:
            raise ModuleNotFoundError("No module named 'tvm'")
        self.np: Any = None
        self.tvm: Any = None
        self.relax: Any = None
        self.vm: Any = None
        self.fn: Any = None
        self.record: dict[str, Any] = {}

    def _import(self) -> None:
        if self.tvm is not None:
            return
        import numpy as np
        import tvm
        from tvm import relax

        self.np = np
        self.tvm = tvm
        self.relax = relax

    def version(self) -> str:
        import importlib.metadata

        try:
            return importlib.metadata.version("apache-tvm")
        except importlib.metadata.PackageNotFoundError:  # a build from source
            self._import()
            return str(self.tvm.__version__)

    def _set_threads(self, threads: int) -> int:
        # TVM_NUM_THREADS is read when the runtime's thread pool starts; runtime.config_threadpool
        # (mode 1: all cores of the big cluster, i.e. every core on a homogeneous CPU) resizes it
        os.environ["TVM_NUM_THREADS"] = str(threads)
        configure = self.tvm.get_global_func("runtime.config_threadpool", allow_missing=True)
        if configure is not None:
            configure(1, threads)
        return int(self.tvm.runtime.num_threads())

    def load(self, model_path: str, options: dict[str, Any], precision: str, shapes: dict[str, list[int]] | None) -> LoadInfo:
        self._import()
        o = Options("tvm", options)
        threads = o.int("threads", 1, minimum=1)
        opt_level = o.int("optLevel", 3)
        tune_trials = o.int("tuneTrials", 0, minimum=0)
        o.seen.add("target")
        target_opt = options.get("target")
        o.done()
        if opt_level > 3:
            raise config_error(f"tvm: options.optLevel: expected 0..3, got {opt_level}", "0..3")
        if precision != "fp32":
            raise Unsupported(f"tvm: precision {precision} is not supported here", "fp32 (the build computes in the model's own types)")
        if not model_path.endswith(".so"):
            raise config_error(f"tvm: {model_path} is not a built model", "model.so from the tvm runner's prepare (it builds ONNX)")
        self.record = _read_record(model_path + ".convert.json")
        built_target = self.record.get("target")
        if self.record.get("optLevel") != opt_level:
            raise config_error(f"tvm: {model_path} was built at opt level {self.record.get('optLevel')}, the options say {opt_level}", "the model built with the job's options")
        if int(self.record.get("tuneTrials") or 0) != tune_trials:
            raise config_error(f"tvm: {model_path} was built with tuneTrials {self.record.get('tuneTrials') or 0}, the options say {tune_trials}", "the model built with the job's options")
        if target_opt is not None and isinstance(built_target, dict) and isinstance(target_opt, dict):
            differs = {k: v for k, v in target_opt.items() if built_target.get(k) != v}
            if differs:
                raise config_error(f"tvm: {model_path} was built for {json.dumps(built_target)}, the options ask for {json.dumps(target_opt)}", "the model built with the job's options")
        notes: list[str] = []
        pinned = self.record.get("pinned")
        if isinstance(pinned, dict):
            built = {m["name"]: m["dims"] for m in self.record["inputs"]}
            for name, dims in pinned.items():
                if isinstance(dims, list) and name in built:
                    notes.append(
                        f"static shapes: input {name} has dynamic dims {json.dumps(dims)} in the model; TVM built it for {json.dumps(built[name])} "
                        f"(the Relax VM runs the shapes it was built for; another shape is another build: shapes: in the suite)"
                    )
        if shapes:
            built = {m["name"]: m["dims"] for m in self.record["inputs"]}
            wrong = {k: v for k, v in shapes.items() if built.get(k) != list(v)}
            if wrong:
                raise WorkerError(f"tvm: {model_path} was built for input shapes {built}, the job gives {wrong}", benchalign_code="E_SHAPE", expected="the shapes it was built for")
        rt_mod = self.tvm.runtime.load_module(model_path)
        self.vm = self.relax.VirtualMachine(rt_mod, self.tvm.cpu())
        self._rt_mod = rt_mod
        self.fn = self.vm["main"]
        got_threads = self._set_threads(threads)
        if got_threads != threads:
            notes.append(f"asked for {threads} threads, the TVM runtime reports {got_threads}")
        applied = {
            "threads": got_threads,
            "optLevel": opt_level,
            "target": built_target,
            "device": "cpu",
            "tvm": self.record.get("version"),
            "tuneTrials": tune_trials,
        }
        if isinstance(self.record.get("tuning"), dict):
            applied["tuning"] = self.record["tuning"]
        inputs = [tensor_meta(m["name"], m["dtype"], m["dims"]) for m in self.record["inputs"]]
        outputs = [tensor_meta(m["name"], m["dtype"], m["dims"]) for m in self.record["outputs"]]
        return LoadInfo(inputs, outputs, "fp32", notes, applied)

    def prepare_inputs(self, feeds: dict[str, Any]) -> Any:
        names = [m["name"] for m in self.record["inputs"]]
        missing = [n for n in names if n not in feeds]
        if missing:
            raise WorkerError(f"tvm: no data for inputs {missing}", benchalign_code="E_SHAPE", expected=f"inputs {names}")
        out = []
        for m in self.record["inputs"]:
            arr = self.np.ascontiguousarray(feeds[m["name"]])
            if list(arr.shape) != list(m["dims"]):
                raise WorkerError(f"tvm: input {m['name']} has shape {list(arr.shape)}, the model was built for {m['dims']}", benchalign_code="E_SHAPE", expected=f"{m['dims']} (or shapes: in the suite)")
            if str(arr.dtype) != m["dtype"]:
                raise WorkerError(f"tvm: input {m['name']} is {arr.dtype}, the model takes {m['dtype']}", benchalign_code="E_SHAPE", expected=m["dtype"])
            out.append(self.tvm.runtime.tensor(arr))
        return out

    def run(self, prepared: Any) -> Any:
        # the VM computes synchronously on tvm.cpu(); the copy to NumPy is in to_numpy
        return self.fn(*prepared)

    def to_numpy(self, raw: Any) -> dict[str, Any]:
        outs = [raw] if hasattr(raw, "numpy") else list(raw)
        names = [m["name"] for m in self.record["outputs"]]
        if len(outs) != len(names):
            raise WorkerError(f"tvm: the VM returned {len(outs)} outputs", benchalign_code="E_ENGINE", expected=f"{len(names)} outputs {names}")
        return {n: o.numpy().copy() for n, o in zip(names, outs)}

    def profile(self, prepared: Any, iterations: int, max_ms: float, work_dir: str) -> dict[str, Any]:
        """The Relax VM's instrumentation hook (VirtualMachine.set_instrument: called before and
        after every Call instruction) on a second VM of the same library: the time between the
        two calls per kernel (TIR PrimFuncs such as conv2d1 or fused_conv2d_add_relu, and the
        VM's builtins such as vm.builtin.alloc_tensor). This TVM has no Relax VM profiler
        (``profile=True`` and tvm.runtime.profiling are gone from apache-tvm 0.2x)."""
        import re
        import time

        vm = self.relax.VirtualMachine(self._rt_mod, self.tvm.cpu())
        fn = vm["main"]
        clock = time.perf_counter_ns
        started = [0]
        acc: dict[str, list[int]] = {}

        def instrument(_func: Any, symbol: str, before: bool, _ret: Any, *_args: Any) -> int:
            if before:
                started[0] = clock()
            else:
                a = acc.setdefault(str(symbol), [0, 0])
                a[0] += clock() - started[0]
                a[1] += 1
            return 0  # VMInstrumentReturnKind.NO_OP: run the call

        vm.set_instrument(instrument)
        fn(*prepared)  # first call allocates; not counted
        acc.clear()
        done, wall = profiled_runs(lambda: fn(*prepared), iterations, max_ms)

        def op_type(symbol: str) -> str:
            # TVM names a kernel after its Relax op(s) and numbers the repeats: conv2d1 -> conv2d
            return symbol if symbol.startswith("vm.builtin.") else re.sub(r"(?<=[A-Za-z_])\d+$", "", symbol)

        layers = [{"name": sym, "opType": op_type(sym), "timeNs": t, "count": n} for sym, (t, n) in acc.items()]
        fused = sorted({op_type(sym) for sym in acc if sym.startswith("fused_")})
        notes = [
            "per kernel (each TIR function the build made, called callsPerInference times per inference) and per VM builtin, "
            "timed between the VM's before/after instrument calls (a Python callback: about a microsecond per call); "
            "kernels are named after the Relax ops they compute (conv2d, matmul, layer_norm), not ONNX nodes"
        ]
        if fused:
            notes.append(f"{len(fused)} fused kernel type(s), each one kernel for the ops its name lists: " + ", ".join(fused[:8]))
        else:
            notes.append("no fused kernels in this build: one kernel per Relax op")
        return {"profiler": "tvm relax VM instrument", "iterations": done, "wallNs": wall, "layers": layers, "notes": notes}

    def unload(self) -> None:
        self.fn = None
        self.vm = None


if __name__ == "__main__":
    serve(TvmEngine)
