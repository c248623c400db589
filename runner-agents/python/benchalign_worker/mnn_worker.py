"""The MNN worker: loads a model converted by MNNConvert (the runner's `prepare` converts ONNX and
caches it) as an ``MNN.nn`` Module, on a RuntimeManager with an explicit CPU config.

Options: ``threads`` (numThread, default 1), ``precisionMode`` (high|normal|low; default high
for fp32 jobs, low for fp16 jobs), and the conversion options the runner's `prepare` applies,
``fp16Weights`` (MNNConvert --fp16, default false), ``keepInputFormat`` (default true;
false lets MNNConvert give 4-D inputs and outputs MNN's packed NC4HW4 layout) and
``geluApproximation`` (default false; MNNConvert's own default approximates ONNX's erf GELU
with tanh, about 5e-4 off), and ``winogradMemoryLevel`` (0..3, MNN's WINOGRAD_MEMORY_LEVEL
session hint: 0 turns Winograd convolutions off; default 0 with precisionMode high, where MNN's
Winograd 3x3 convolutions are 5.5e-3 off on ResNet-50's logits, else MNN's own 3).

Next to the model (``<model>.mnn``) the runner leaves ``<model>.mnn.convert.json`` (converter,
version, arguments) and ``<model>.mnn.io.json`` (the ONNX model's declared inputs and outputs:
names, dtypes, dims). Both are absent for a model given as .mnn directly, and both are parsed
defensively.

Reconciliation: MNN has no int64 tensors, so int64 inputs are narrowed to int32 (values
checked to fit) and int32 outputs that the ONNX model declares int64 are widened back;
outputs in NC4HW4 are converted to NCHW (``MNN.expr.convert``) inside the timed call; the copy
to NumPy (``Var.read``) is outside it, as for every worker. Each
step is reported per output.
"""

from __future__ import annotations

import json
import os
import platform
from typing import Any

from .options import Options
from .protocol import Engine, LoadInfo, Unsupported, WorkerError, config_error, serve, tensor_meta, profiled_runs

#: precision mode -> the value MNN's create_runtime_manager config takes ("high"/"low" are
#: its named forms; 0 is BackendConfig::Precision_Normal, which has no named form)
_MODE_VALUE: dict[str, Any] = {"high": "high", "normal": 0, "low": "low"}
_SIDECAR_MAX_BYTES = 1 << 20
_INT32 = (-(2**31), 2**31 - 1)
#: MNN Interpreter::HintMode::WINOGRAD_MEMORY_LEVEL (RuntimeManager.set_hint takes the enum's value)
_HINT_WINOGRAD_MEMORY_LEVEL = 3


def _read_sidecar(path: str) -> dict[str, Any] | None:
    """A small JSON object written next to the model, or None when absent."""
    if not os.path.isfile(path):
        return None
    if os.path.getsize(path) > _SIDECAR_MAX_BYTES:
        raise WorkerError(f"mnn: {path} is larger than {_SIDECAR_MAX_BYTES} bytes", benchalign_code="E_CONFIG", expected="a small JSON object")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except ValueError as e:
        raise WorkerError(f"mnn: {path} is not valid JSON: {e}", benchalign_code="E_CONFIG", expected="a JSON object") from e
    if not isinstance(data, dict):
        raise WorkerError(f"mnn: {path} is not a JSON object", benchalign_code="E_CONFIG", expected="a JSON object")
    return data


def _io_entries(io: dict[str, Any] | None, key: str, path: str) -> dict[str, dict[str, Any]]:
    """{name: {dtype, dims}} from io.json's `inputs` or `outputs` list."""
    if io is None:
        return {}
    items = io.get(key)
    if not isinstance(items, list):
        raise WorkerError(f"mnn: {path}: {key} is not a list", benchalign_code="E_CONFIG", expected=f"{key}: [{{name, dtype, dims}}]")
    out: dict[str, dict[str, Any]] = {}
    for i, it in enumerate(items):
        ok = (
            isinstance(it, dict)
            and isinstance(it.get("name"), str)
            and isinstance(it.get("dtype"), str)
            and (it.get("dims") is None or (isinstance(it.get("dims"), list) and all(isinstance(d, (int, str)) or d is None for d in it["dims"])))
        )
        if not ok:
            raise WorkerError(f"mnn: {path}: {key}[{i}] is malformed", benchalign_code="E_CONFIG", expected="{name: string, dtype: string, dims: [int|string|null] | null}")
        out[it["name"]] = {"dtype": it["dtype"], "dims": it.get("dims")}
    return out


def cpu_has_fp16_arithmetic() -> bool:
    """Whether MNN's CPU backend can compute in fp16 here: ARMv8.2+ cores with FP16 arithmetic
    (the `asimdhp` hwcap on Linux; every Apple arm64 core). x86 CPUs run fp16 requests in fp32."""
    machine = platform.machine().lower()
    if machine not in ("aarch64", "arm64"):
        return False
    if platform.system() == "Darwin":
        return True
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            return any(line.lower().startswith("features") and "asimdhp" in line.split() for line in f)
    except OSError:
        return False


class MnnEngine(Engine):
    name = "mnn"
    thread_safe = False  # a Module and its RuntimeManager serve one thread

    def __init__(self) -> None:
        import MNN
        import MNN.expr as F
        import MNN.nn as nn
        import numpy as np

        self.MNN = MNN
        self.F = F
        self.nn = nn
        self.np = np
        self.runtime: Any = None
        self.module: Any = None
        self.input_names: list[str] = []
        self.output_names: list[str] = []
        self.input_vars: list[Any] = []
        self.widen_outputs: set[str] = set()

    def version(self) -> str:
        return str(self.MNN.version())

    def _np_dtype(self, mnn_dtype: Any) -> Any:
        F, np = self.F, self.np
        table = {F.float: np.float32, F.double: np.float64, F.int: np.int32, F.int64: np.int64, F.uint8: np.uint8, F.int8: np.int8}
        for k, v in table.items():
            if mnn_dtype == k:
                return np.dtype(v)
        raise Unsupported(f"mnn: tensor type {mnn_dtype} is not supported here", "float, double, int, int64, uint8 or int8 tensors")

    def load(self, model_path: str, options: dict[str, Any], precision: str, shapes: dict[str, list[int]] | None) -> LoadInfo:
        F, nn = self.F, self.nn
        o = Options("mnn", options)
        threads = o.int("threads", 1, minimum=1)
        mode = o.choice("precisionMode", "low" if precision == "fp16" else "high", ["high", "normal", "low"])
        fp16_weights = o.bool("fp16Weights", False)
        keep_format = o.bool("keepInputFormat", True)
        gelu_approx = o.bool("geluApproximation", False)
        winograd = o.int("winogradMemoryLevel", 0 if mode == "high" else 3, minimum=0)
        o.done()
        if winograd > 3:
            raise config_error(f"mnn: options.winogradMemoryLevel {winograd}", "0 (no Winograd convolutions) to 3 (MNN's default)")
        if precision not in ("fp32", "fp16"):
            raise Unsupported(f"mnn: precision {precision} is not supported here", "fp32|fp16 (int8 needs a model quantized with mnnquant)")
        if not model_path.lower().endswith(".mnn"):
            raise config_error(f"mnn: {model_path} is not an .mnn model", "an .mnn file (the mnn runner's prepare converts ONNX with MNNConvert)")
        conv = _read_sidecar(model_path + ".convert.json")
        io_path = model_path + ".io.json"
        io = _read_sidecar(io_path)
        onnx_in = _io_entries(io, "inputs", io_path)
        onnx_out = _io_entries(io, "outputs", io_path)
        notes: list[str] = []
        applied: dict[str, Any] = {"backend": "CPU", "numThread": threads, "precisionMode": mode, "fp16Weights": fp16_weights, "keepInputFormat": keep_format, "geluApproximation": gelu_approx, "winogradMemoryLevel": winograd}
        if conv is not None:
            args = conv.get("args") if isinstance(conv.get("args"), list) else []
            converted_fp16 = "--fp16" in args
            converted_keep = not any(isinstance(a, str) and a.startswith("--keepInputFormat=") and a.split("=", 1)[1] in ("0", "false") for a in args)
            gelu_at = [i for i, a in enumerate(args) if a == "--useGeluApproximation"]
            # MNNConvert approximates GELU unless told --useGeluApproximation 0
            converted_gelu = not (gelu_at and gelu_at[-1] + 1 < len(args) and args[gelu_at[-1] + 1] in ("0", "false"))
            converted = (converted_fp16, converted_keep, converted_gelu)
            if converted != (fp16_weights, keep_format, gelu_approx):
                raise config_error(
                    f"mnn: {model_path} was converted with fp16Weights={converted_fp16}, keepInputFormat={converted_keep}, "
                    f"geluApproximation={converted_gelu}, but the options say fp16Weights={fp16_weights}, "
                    f"keepInputFormat={keep_format}, geluApproximation={gelu_approx}",
                    "the model converted with the job's options (the runner's prepare does this)",
                )
            applied["converter"] = f"{conv.get('converter', 'MNNConvert')} {conv.get('version', '?')}"
        else:
            notes.append("this .mnn file was given as is (converted elsewhere): fp16Weights, keepInputFormat and geluApproximation describe nothing here")

        config = {"backend": "CPU", "numThread": threads, "precision": _MODE_VALUE[mode]}
        self._profile_source = (model_path, dict(config))
        self.runtime = nn.create_runtime_manager((config,))
        self.runtime.set_hint(_HINT_WINOGRAD_MEMORY_LEVEL, winograd)
        if winograd == 0:
            notes.append("Winograd convolutions off (winogradMemoryLevel 0): MNN's Winograd 3x3 convolutions trade about 1e-3 relative error for speed")
        try:
            self.module = nn.load_module_from_file(model_path, [], [], runtime_manager=self.runtime)
        except Exception as e:  # noqa: BLE001 - MNN raises SystemError with its message printed to stderr
            raise WorkerError(f"mnn: cannot load {model_path}: MNN rejected the file ({type(e).__name__})", benchalign_code="E_ENGINE", expected="an .mnn model written by MNNConvert") from e
        if self.module is None:
            raise WorkerError(f"mnn: cannot load {model_path}", benchalign_code="E_ENGINE", expected="an .mnn model written by MNNConvert")
        info = self.module.get_info()
        self.input_names = list(info["inputNames"])
        self.output_names = list(info["outputNames"])
        placeholders = list(info["inputs"])

        if shapes:
            unknown = sorted(set(shapes) - set(self.input_names))
            if unknown:
                raise WorkerError(f"mnn: shapes name unknown inputs {unknown}", benchalign_code="E_SHAPE", expected=f"inputs {self.input_names}")
            notes.append("inputs resized to " + ", ".join(f"{k}={list(v)}" for k, v in shapes.items()) + " (MNN Modules are shape-mutable)")

        self.inputs_meta: list[dict[str, Any]] = []
        self.input_specs: list[tuple[str, Any, Any]] = []
        for name, ph in zip(self.input_names, placeholders):
            mnn_np = self._np_dtype(ph.dtype)
            declared = onnx_in.get(name, {})
            dtype = declared.get("dtype") or str(mnn_np)
            if dtype != str(mnn_np):
                notes.append(f"input {name}: the model declares {dtype}, MNN takes {mnn_np}; feeds are converted (integers checked to fit)")
            dims: list[Any]
            if shapes and name in shapes:
                dims = list(shapes[name])
            elif declared.get("dims") is not None:
                dims = [d if d is not None else "?" for d in declared["dims"]]
            else:
                dims = list(ph.shape)
            self.inputs_meta.append(tensor_meta(name, dtype, dims))
            self.input_specs.append((name, ph.dtype, ph.data_format))
            if ph.data_format == F.NC4HW4:
                notes.append(f"input {name}: MNN takes NC4HW4; the NCHW feed is converted once, outside the timed calls")

        graph: dict[str, Any] = {}
        try:
            graph = F.load_as_dict(model_path)
        except Exception:  # noqa: BLE001 - only used for metadata
            graph = {}
        self.outputs_meta: list[dict[str, Any]] = []
        self.widen_outputs = set()
        reconciliation: dict[str, dict[str, Any]] = {}
        for name in self.output_names:
            var = graph.get(name)
            layout: list[str] = []
            mnn_dtype = "?"
            mnn_dims: list[Any] = []
            if var is not None:
                try:
                    mnn_dtype = str(self._np_dtype(var.dtype))
                    mnn_dims = list(var.shape)
                    if var.data_format == F.NC4HW4:
                        layout.append("NC4HW4->NCHW")
                except Exception:  # noqa: BLE001 - shape inference needs runtime shapes for some graphs
                    pass
            declared = onnx_out.get(name, {})
            dtype = declared.get("dtype") or mnn_dtype
            if mnn_dtype == "int32" and dtype == "int64":
                self.widen_outputs.add(name)
                layout.append("int32->int64")
            dims = [d if d is not None else "?" for d in declared["dims"]] if declared.get("dims") is not None else mnn_dims
            self.outputs_meta.append(tensor_meta(name, dtype, dims))
            if layout:
                reconciliation[name] = {"layout": layout}

        effective = "fp32"
        if mode == "low":
            if cpu_has_fp16_arithmetic():
                effective = "fp16"
            else:
                notes.append(
                    f"asked for precision low, but this CPU ({platform.machine()}) has no fp16 arithmetic MNN can use "
                    "(its CPU backend computes fp16 only on ARMv8.2+ cores with asimdhp): it computes in fp32"
                )
        if precision == "fp32" and effective != "fp32":
            notes.append("a fp32 job with precisionMode low: MNN computes in fp16")
        if precision == "fp16" and mode != "low":
            notes.append(f"a fp16 job with precisionMode {mode}: MNN computes in fp32")
        if mode == "normal":
            notes.append("precisionMode normal: MNN's default precision; 'high' is the mode for an exact fp32 comparison")
        if gelu_approx:
            notes.append("GELU converted to MNN's tanh approximation (MNNConvert --useGeluApproximation 1): about 5e-4 abs error on its own")
        if fp16_weights:
            notes.append("weights stored as fp16 by MNNConvert --fp16 (rounded to fp16, computed in " + effective + ")")
        self.input_vars = []
        return LoadInfo(self.inputs_meta, self.outputs_meta, effective, notes, applied, reconciliation)

    def prepare_inputs(self, feeds: dict[str, Any]) -> Any:
        F, np = self.F, self.np
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise WorkerError(f"mnn: no data for inputs {missing}", benchalign_code="E_SHAPE", expected=f"inputs {self.input_names}")
        out = []
        self._feeds_np: dict[str, Any] = {}
        for name, mnn_dtype, fmt in self.input_specs:
            arr = np.ascontiguousarray(feeds[name])
            want = self._np_dtype(mnn_dtype)
            if arr.dtype != want:
                if want.kind in "iu" and arr.dtype.kind in "iub":
                    info = np.iinfo(want)
                    if arr.size and (arr.min() < info.min or arr.max() > info.max):
                        raise WorkerError(
                            f"mnn: input {name} has values in [{arr.min()}, {arr.max()}], outside {want}",
                            benchalign_code="E_UNSUPPORTED",
                            expected=f"values that fit {want} (MNN has no {arr.dtype} tensors)",
                        )
                    arr = arr.astype(want)
                elif want.kind == "f" and arr.dtype.kind == "f" and arr.dtype.itemsize < want.itemsize:
                    arr = arr.astype(want)
                else:
                    raise WorkerError(f"mnn: input {name} is {arr.dtype}, MNN takes {want}", benchalign_code="E_UNSUPPORTED", expected=f"a {want} input")
            self._feeds_np[name] = arr
            var = F.const(arr, list(arr.shape), F.NCHW, mnn_dtype)
            if fmt == F.NC4HW4:
                var = F.convert(var, F.NC4HW4)
            out.append(var)
        self.input_vars = out
        return out

    def run(self, prepared: Any) -> Any:
        # onForward computes synchronously on the CPU backend; so does convert (MNN evaluates
        # expressions eagerly), so the NC4HW4 -> NCHW step is part of the timed call
        F = self.F
        outs = self.module.onForward(prepared)
        return [F.convert(v, F.NCHW) if v.data_format == F.NC4HW4 else v for v in outs]

    def to_numpy(self, raw: Any) -> dict[str, Any]:
        np = self.np
        if len(raw) != len(self.output_names):
            raise WorkerError(f"mnn: the module returned {len(raw)} outputs", benchalign_code="E_ENGINE", expected=f"{len(self.output_names)} outputs {self.output_names}")
        out: dict[str, Any] = {}
        for name, arr in zip(self.output_names, raw):
            a = np.array(arr.read(), copy=True)
            out[name] = a.astype(np.int64) if name in self.widen_outputs and a.dtype == np.int32 else a
        return out

    def profile(self, prepared: Any, iterations: int, max_ms: float, work_dir: str) -> dict[str, Any]:
        """MNN's per-op callbacks (Interpreter.runSessionWithCallBackInfo) on a session of the same
        .mnn file and settings: the time between each op's begin and end callback."""
        import time

        MNN, np = self.MNN, self.np
        path, config = self._profile_source
        interp = MNN.Interpreter(path)
        session = interp.createSession({"numThread": config["numThread"], "precision": config["precision"]})
        resized = False
        for name, arr in self._feeds_np.items():
            t = interp.getSessionInput(session, name)
            if list(t.getShape()) != list(arr.shape):
                interp.resizeTensor(t, tuple(arr.shape))
                resized = True
        if resized:
            interp.resizeSession(session)
        halide = {np.dtype(np.float32): MNN.Halide_Type_Float, np.dtype(np.int32): MNN.Halide_Type_Int, np.dtype(np.uint8): MNN.Halide_Type_Uint8}
        for name, arr in self._feeds_np.items():
            if arr.dtype not in halide:
                raise Unsupported(f"mnn: profiling an input of dtype {arr.dtype} is not supported", "float32, int32 or uint8 inputs")
            src = MNN.Tensor(tuple(arr.shape), halide[arr.dtype], np.ascontiguousarray(arr), MNN.Tensor_DimensionType_Caffe)
            interp.getSessionInput(session, name).copyFrom(src)
        layers: dict[tuple[str, str], dict[str, Any]] = {}
        started = [0]
        clock = time.perf_counter_ns

        def begin(_tensors: Any, _info: Any) -> bool:
            started[0] = clock()
            return True

        def end(_tensors: Any, info: Any) -> bool:
            dt = clock() - started[0]
            key = (info.getName(), info.getType())
            cur = layers.setdefault(key, {"name": key[0], "opType": key[1], "timeNs": 0, "count": 0})
            cur["timeNs"] += dt
            cur["count"] += 1
            return True

        interp.runSession(session)  # first run allocates; not counted
        done, wall = profiled_runs(lambda: interp.runSessionWithCallBackInfo(session, begin, end), iterations, max_ms)
        notes = ["times between MNN's per-op begin/end callbacks (Python callbacks: a few microseconds of overhead per op); names are the ops' output tensors"]
        return {"profiler": "mnn runSessionWithCallBackInfo", "iterations": done, "wallNs": wall, "layers": list(layers.values()), "notes": notes}

    def unload(self) -> None:
        self.input_vars = []
        self.module = None
        self.runtime = None


if __name__ == "__main__":
    serve(MnnEngine)
