"""The ExecuTorch worker: runs a ``.pte`` program through ExecuTorch's Python runtime
(``executorch.runtime.Runtime``), its ``forward`` method. The runner's `prepare` exports the
suite model's PyTorch form (benchalign_worker.executorch_convert: torch.export ->
to_edge_transform_and_lower with the XNNPACK partitioner -> to_executorch) and caches it; a
``.pte`` given as the model is run as it is.

Options: ``threads`` (the size of ExecuTorch's CPU thread pool, which the XNNPACK delegate
uses: ``_unsafe_reset_threadpool``, read back; default 1) and the export option the runner's
`prepare` applies, ``xnnpack`` (delegate to XNNPACK, default true; false runs every op on the
portable kernels).

Next to the program the runner leaves ``model.pte.convert.json`` (versions, how the model
was exported, input and output names, the delegated and non-delegated operators), parsed
defensively; the worker reports the delegation. Precision: the program computes in the types it
was exported with (fp32 here); fp16/bf16/int8 need a program exported that way and are refused.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .options import Options
from .protocol import Engine, LoadInfo, Unsupported, WorkerError, config_error, serve, tensor_meta, profiled_runs

_SIDECAR_MAX_BYTES = 1 << 20
#: c10::ScalarType codes (TensorInfo.dtype()) -> NumPy dtype names
_SCALAR_TYPES = {0: "uint8", 1: "int8", 2: "int16", 3: "int32", 4: "int64", 5: "float16", 6: "float32", 7: "float64", 11: "bool", 15: "bfloat16"}


def _read_record(path: str) -> dict[str, Any] | None:
    if not os.path.isfile(path):
        return None
    if os.path.getsize(path) > _SIDECAR_MAX_BYTES:
        raise config_error(f"executorch: {path} is larger than {_SIDECAR_MAX_BYTES} bytes", "a small JSON object")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except ValueError as e:
        raise config_error(f"executorch: {path} is not valid JSON: {e}", "a JSON object") from e
    ok = (
        isinstance(data, dict)
        and isinstance(data.get("inputs"), list)
        and all(isinstance(m, dict) and isinstance(m.get("name"), str) for m in data["inputs"])
        and isinstance(data.get("outputNames"), list)
        and all(isinstance(n, str) for n in data["outputNames"])
        and isinstance(data.get("xnnpack"), bool)
        and isinstance(data.get("delegation"), dict)
    )
    if not ok:
        raise config_error(f"executorch: {path} is malformed", "{inputs: [{name, dtype, dims}], outputNames: [...], xnnpack, delegation}")
    return data


class ExecuTorchEngine(Engine):
    name = "executorch"
    thread_safe = False  # one loaded Method, one caller

    def __init__(self) -> None:
        # the runtime (with torch) takes seconds to import: `hello` (engines list, an agent's
        # probe of every engine) only checks that it is there; the first load imports it
        import importlib.util

        if importlib.util.find_spec("executorch") is None or importlib.util.find_spec("executorch.runtime") is None:
            raise ModuleNotFoundError("No module named 'executorch.runtime'")
        self.np: Any = None
        self.torch: Any = None
        self.portable_lib: Any = None
        self.runtime: Any = None
        self.program: Any = None
        self.method: Any = None
        self.input_names: list[str] = []
        self.input_dtypes: list[str] = []
        self.output_names: list[str] = []

    def _import(self) -> None:
        if self.runtime is not None:
            return
        import numpy as np
        import torch
        from executorch.extension.pybindings import portable_lib
        from executorch.runtime import Runtime

        self.np = np
        self.torch = torch
        self.portable_lib = portable_lib
        self.runtime = Runtime.get()

    def version(self) -> str:
        from executorch import version

        return str(version.__version__).split("+")[0]

    def load(self, model_path: str, options: dict[str, Any], precision: str, shapes: dict[str, list[int]] | None) -> LoadInfo:
        self._import()
        o = Options("executorch", options)
        threads = o.int("threads", 1, minimum=1)
        xnnpack = o.bool("xnnpack", True)
        o.done()
        if precision != "fp32":
            raise Unsupported(f"executorch: precision {precision} is not supported here", "fp32 (a program computes in the types it was exported with)")
        if not model_path.endswith(".pte"):
            raise config_error(f"executorch: {model_path} is not an ExecuTorch program", "a .pte file (the executorch runner's prepare exports the model's PyTorch form)")
        record = _read_record(model_path + ".convert.json")
        notes: list[str] = []
        if record is not None and record["xnnpack"] != xnnpack:
            raise config_error(f"executorch: {model_path} was exported with xnnpack={record['xnnpack']}, the options say xnnpack={xnnpack}", "the program exported with the job's options")
        # the thread pool is resized before the program loads: XNNPACK's delegate keeps the pool
        # it was initialised with, and resizing it afterwards leaves that pointer dangling (SIGSEGV)
        self.portable_lib._unsafe_reset_threadpool(threads)
        try:
            self.program = self.runtime.load_program(model_path)
            self._model_path = model_path
            self.method = self.program.load_method("forward")
        except Exception as e:  # noqa: BLE001 - the runtime's message (also logged on stderr)
            raise WorkerError(f"executorch: cannot load {model_path}: {type(e).__name__}: {str(e)[:800]}", benchalign_code="E_ENGINE", expected="a .pte program with a forward method") from e
        got_threads = int(self.portable_lib._threadpool_get_thread_count())
        if got_threads != threads:
            notes.append(f"asked for {threads} threads, ExecuTorch's thread pool has {got_threads}")
        meta = self.method.metadata
        ins = [meta.input_tensor_meta(i) for i in range(meta.num_inputs())]
        outs = [meta.output_tensor_meta(i) for i in range(meta.num_outputs())]
        declared_in = [m["name"] for m in record["inputs"]] if record else []
        self.input_names = declared_in if len(declared_in) == len(ins) else [f"input_{i}" for i in range(len(ins))]
        spec = self.load_request.get("pytorch") if isinstance(self.load_request.get("pytorch"), dict) else {}
        declared_out = (record["outputNames"] if record else []) or [n for n in (spec.get("outputs") or []) if isinstance(n, str)]
        self.output_names = declared_out if len(declared_out) == len(outs) else [f"output_{i}" for i in range(len(outs))]
        if record is None:
            notes.append("this .pte was given as is (exported elsewhere): names are the program's positions, xnnpack describes nothing here")
        self.input_dtypes = [_SCALAR_TYPES.get(int(t.dtype()), f"scalar_type:{int(t.dtype())}") for t in ins]
        inputs = [tensor_meta(n, d, list(t.sizes())) for n, d, t in zip(self.input_names, self.input_dtypes, ins)]
        outputs = [tensor_meta(n, _SCALAR_TYPES.get(int(t.dtype()), f"scalar_type:{int(t.dtype())}"), list(t.sizes())) for n, t in zip(self.output_names, outs)]
        if shapes:
            built = {m["name"]: m["dims"] for m in inputs}
            wrong = {k: v for k, v in shapes.items() if built.get(k) != list(v)}
            if wrong:
                raise WorkerError(f"executorch: {model_path} was exported for input shapes {built}, the job gives {wrong}", benchalign_code="E_SHAPE", expected="the shapes it was exported for")
        applied: dict[str, Any] = {"threads": got_threads, "xnnpack": xnnpack}
        if record is not None:
            d = record["delegation"]
            applied["delegation"] = d
            applied["exported"] = record.get("exported")
            by_op = d.get("byOperator") if isinstance(d.get("byOperator"), dict) else {}
            left = sorted(op for op, b in by_op.items() if isinstance(b, dict) and b.get("notDelegated", 0) > 0 and not str(op).startswith(("getitem", "executorch_call_delegate")))
            if xnnpack:
                notes.append(
                    f"XNNPACK runs {d.get('delegatedNodes')} nodes in {d.get('subgraphs')} delegated subgraph(s); "
                    + (f"left to the portable kernels: {', '.join(left)}" if left else "no operator left to the portable kernels")
                )
        return LoadInfo(inputs, outputs, "fp32", notes, applied)

    def prepare_inputs(self, feeds: dict[str, Any]) -> Any:
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise WorkerError(f"executorch: no data for inputs {missing}", benchalign_code="E_SHAPE", expected=f"inputs {self.input_names}")
        out = []
        for n, want in zip(self.input_names, self.input_dtypes):
            arr = self.np.ascontiguousarray(feeds[n])
            if str(arr.dtype) != want:
                raise WorkerError(f"executorch: input {n} is {arr.dtype}, the program takes {want}", benchalign_code="E_SHAPE", expected=want)
            out.append(self.torch.from_numpy(arr.copy()))
        return out

    def run(self, prepared: Any) -> Any:
        return self.method.execute(prepared)

    def to_numpy(self, raw: Any) -> dict[str, Any]:
        if len(raw) != len(self.output_names):
            raise WorkerError(f"executorch: forward returned {len(raw)} outputs", benchalign_code="E_ENGINE", expected=f"{len(self.output_names)} outputs {self.output_names}")
        return {n: t.detach().numpy().copy() for n, t in zip(self.output_names, raw)}

    def profile(self, prepared: Any, iterations: int, max_ms: float, work_dir: str) -> dict[str, Any]:
        """ExecuTorch's ETDump on a second load of the same program (``enable_etdump=True``),
        read back with the devtools Inspector: per operator the portable kernels' events
        (native_call_*) and the delegate's per-op events (XNNPACK: "Convolution (NHWC, F32) IGEMM
        #3", microsecond resolution), and per delegate call the time outside its ops."""
        import re
        import warnings

        from executorch.devtools.inspector import Inspector, TimeScale

        program = self.runtime.load_program(self._model_path, enable_etdump=True)
        method = program.load_method("forward")
        method.execute(prepared)  # first run allocates; left out below
        done, wall = profiled_runs(lambda: method.execute(prepared), iterations, max_ms)
        os.makedirs(work_dir, exist_ok=True)
        etdump = os.path.join(work_dir, "executorch.etdp")
        program.write_etdump_result_to_file(etdump, os.path.join(work_dir, "executorch.debug.bin"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Output Buffer not found": no tensor debug data asked for
            inspector = Inspector(etdump_path=etdump, source_time_scale=TimeScale.NS, target_time_scale=TimeScale.NS)
        blocks = [b for b in inspector.event_blocks if b.name == "Execute"]
        if not blocks:
            raise WorkerError(f"executorch: the ETDump ({etdump}) has no Execute block", benchalign_code="E_ENGINE", expected="profiling events of the executed runs")
        runs = done + 1

        def steady(raw: list[float]) -> tuple[int, int]:
            # one sample per execute; the first (allocating) run is left out
            xs = raw[1:] if len(raw) == runs else raw
            return int(round(sum(xs))), len(xs)

        layers: list[dict[str, Any]] = []
        inside: dict[Any, int] = {}
        calls: dict[Any, tuple[int, int]] = {}
        for e in blocks[0].events:
            raw = list(e.perf_data.raw) if e.perf_data is not None else []
            if not raw:
                continue
            iid = e._instruction_id
            t, n = steady(raw)
            if e.name == "DELEGATE_CALL":
                calls[iid] = (t, n)
            elif e.is_delegated_op:
                layers.append({"name": f"{e.name} @{iid}", "opType": re.sub(r"\s+#\d+$", "", e.name), "timeNs": t, "count": n})
                inside[iid] = inside.get(iid, 0) + t
            elif e.name.startswith("native_call_"):
                op = e.name[len("native_call_") :].split(".")[0]
                layers.append({"name": f"{e.name} @{iid}", "opType": op, "timeNs": t, "count": n})
        for iid, (t, n) in calls.items():
            layers.append({"name": f"DELEGATE_CALL @{iid} (outside its ops)", "opType": "delegate call (outside its ops)", "timeNs": max(0, t - inside.get(iid, 0)), "count": n})
        notes = [
            "ETDump events (executorch.devtools Inspector): delegated ops as the delegate names them (XNNPACK, microsecond resolution), "
            "portable kernels by operator (native_call_*), and each delegate call's time outside its ops; "
            "names end in @<instruction id>; the program comes from the PyTorch model, so there are no ONNX node names"
        ]
        return {"profiler": "executorch ETDump", "iterations": done, "wallNs": wall, "layers": layers, "notes": notes}

    def unload(self) -> None:
        self.method = None
        self.program = None


if __name__ == "__main__":
    serve(ExecuTorchEngine)
