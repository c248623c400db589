"""The TensorRT worker, written against the TensorRT 10 Python API with cuda-python.

Two entry points:

* ``python -m benchalign_worker.tensorrt_worker --build SPEC.json``: the converter. It parses
  the ONNX model (reporting every parser error), sets the precision flags (TF32 cleared unless
  allowed), the workspace limit and one optimization profile, builds a serialized plan and
  writes ``model.plan`` and ``build.json`` (what was applied) next to the spec. The harness
  caches the folder (src/runners/convert-cache.ts).
* ``python -m benchalign_worker.tensorrt_worker``: the protocol worker. ``load`` deserializes
  a plan; inference copies inputs host-to-device from pinned buffers, runs
  ``execute_async_v3`` and copies outputs back, on one CUDA stream. ``measure`` times each
  iteration with ``perf_counter_ns`` around enqueue + synchronize, and with CUDA events around
  the H2D, compute and D2H phases (the split trtexec reports).

Nothing here imports tensorrt or cuda at module import time, so the pure pieces
(:func:`precision_plan`, :func:`builder_flags`, :func:`check_spec`) can be tested anywhere.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import time
from typing import Any

from .options import Options
from .protocol import INVALID_PARAMS, Engine, LoadInfo, Unsupported, WorkerError, config_error, serve, tensor_meta, timed_loop

NEEDS = "needs tensorrt and an NVIDIA GPU"
PRECISIONS = ("fp32", "fp16", "bf16", "int8")


# -- pure pieces (tested without TensorRT) ---------------------------------------------------------
def precision_plan(precision: str, tf32: bool, has_qdq: bool, tf32_capable: bool = True) -> dict[str, Any]:
    """The precision table, the same as src/runners/tensorrt/options.ts (trtPrecisionPlan).

    ``tf32_capable``: the GPU has TF32 (compute capability 8.0 or newer).
    """
    if precision not in PRECISIONS:
        raise Unsupported(f"tensorrt: precision {precision} is not supported", "|".join(PRECISIONS))
    notes: list[str] = []
    plan: dict[str, Any] = {
        "fp16": precision == "fp16",
        "bf16": precision == "bf16",
        "int8": precision == "int8",
        "tf32": tf32,
        "effectivePrecision": precision,
        "notes": notes,
    }
    if precision == "int8" and not has_qdq:
        plan["effectivePrecision"] = "fp32"
        notes.append(
            "asked for int8, but the model has no Q/DQ nodes and no calibrator is used: "
            "TensorRT has no int8 scales and runs the layers in fp32"
        )
    if precision != "fp32":
        notes.append(
            f"TensorRT may still pick fp32 kernels for some layers of a {precision} build where they are faster (weakly typed network)"
        )
    if tf32:
        if precision == "fp32" and tf32_capable:
            plan["effectivePrecision"] = "tf32"
        notes.append(
            "TF32 allowed (options.tf32): fp32 convolutions and matmuls round their inputs to a 10-bit mantissa on Ampere and newer GPUs"
            + ("" if tf32_capable else "; this GPU has no TF32, so it runs fp32")
        )
    return plan


def builder_flags(plan: dict[str, Any], available: set[str]) -> tuple[list[str], list[str]]:
    """The BuilderFlag names to set and to clear for ``plan``; ``available`` names the flags this
    TensorRT has (TensorRT 11 drops the weakly typed FP16/BF16/INT8 flags)."""
    set_flags = [f for f, on in (("FP16", plan["fp16"]), ("BF16", plan["bf16"]), ("INT8", plan["int8"])) if on]
    missing = [f for f in set_flags if f not in available]
    if missing:
        raise Unsupported(
            f"tensorrt: this TensorRT has no BuilderFlag.{missing[0]} (TensorRT 11 builds strongly typed networks only)",
            "a model exported in the wanted precision (fp16/int8 Q/DQ ONNX) run as fp32, or TensorRT 10",
        )
    clear_flags = [] if plan["tf32"] else ["TF32"]
    return set_flags, clear_flags


def _dims_ok(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in v)


def check_spec(spec: Any) -> dict[str, Any]:
    """Checks a build spec (written by the harness); raises E_CONFIG naming every problem."""
    problems: list[str] = []
    if not isinstance(spec, dict):
        raise config_error("tensorrt build spec: expected a JSON object", "{onnx, plan, precision, ...}")
    for key in ("onnx", "plan"):
        if not isinstance(spec.get(key), str) or not spec.get(key):
            problems.append(f"{key}: expected a file path")
    if spec.get("precision") not in PRECISIONS:
        problems.append(f"precision: expected one of {'|'.join(PRECISIONS)}, got {spec.get('precision')!r}")
    if not isinstance(spec.get("tf32", False), bool):
        problems.append(f"tf32: expected true or false, got {spec.get('tf32')!r}")
    for key, lo, hi in (("device", 0, 63), ("builderOptimizationLevel", 0, 5), ("workspaceMiB", 1, 1 << 24)):
        v = spec.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi):
            problems.append(f"{key}: expected an integer {lo}..{hi}, got {v!r}")
    profiles = spec.get("profiles", {})
    if not isinstance(profiles, dict):
        problems.append("profiles: expected {input: {min, opt, max}}")
        profiles = {}
    for name, p in profiles.items():
        if not isinstance(p, dict) or not all(_dims_ok(p.get(k)) for k in ("min", "opt", "max")):
            problems.append(f"profiles.{name}: expected min, opt and max lists of non-negative integers")
            continue
        mn, op, mx = p["min"], p["opt"], p["max"]
        if not len(mn) == len(op) == len(mx):
            problems.append(f"profiles.{name}: min, opt and max differ in rank")
        elif any(a > b or b > c for a, b, c in zip(mn, op, mx)):
            problems.append(f"profiles.{name}: expected min <= opt <= max, got {mn} {op} {mx}")
    if problems:
        raise config_error("tensorrt build spec: " + "; ".join(problems), "a spec written by benchalign")
    return spec


def missing_profiles(inputs: list[tuple[str, list[int]]], profiles: dict[str, Any]) -> list[str]:
    """Network inputs with a dynamic dim (-1) and no profile, as messages."""
    return [
        f"input {name} has dynamic dims {dims} and no optimization profile (pin its shape in the suite or set options.profiles)"
        for name, dims in inputs
        if any(d < 0 for d in dims) and name not in profiles
    ]


def describe_parser_error(e: Any) -> str:
    """One ONNX parser error (IParserError) as text: node index, name and operator, description, code.
    Accessors a TensorRT version lacks are left out."""

    def get(attr: str) -> Any:
        f = getattr(e, attr, None)
        try:
            return f() if callable(f) else f
        except Exception:  # noqa: BLE001 - a missing detail is left out
            return None

    node, name, op = get("node"), get("node_name"), get("node_operator")
    where = f"node {node}" if node is not None and node >= 0 else "graph"
    detail = ", ".join(str(x) for x in (name, op) if x)
    code = get("code")
    return f"{where}{f' ({detail})' if detail else ''}: {get('desc') or str(e)}{f' [{code}]' if code is not None else ''}"


# -- CUDA (cuda-python) ----------------------------------------------------------------------------
def _cudart() -> Any:
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        from cuda import cudart  # older cuda-python
    return cudart


def _ok(cudart: Any, ret: Any, what: str) -> Any:
    """Unpacks a cuda-python call result ``(err, *values)``; raises on an error."""
    err, *vals = ret if isinstance(ret, tuple) else (ret,)
    if int(err) != int(cudart.cudaError_t.cudaSuccess):
        name = cudart.cudaGetErrorName(err)[1]
        raise WorkerError(f"tensorrt: CUDA {what} failed: {name.decode() if isinstance(name, bytes) else name}", benchalign_code="E_ENGINE")
    if not vals:
        return None
    return vals[0] if len(vals) == 1 else tuple(vals)


def _gpus(cudart: Any) -> list[dict[str, Any]]:
    count = _ok(cudart, cudart.cudaGetDeviceCount(), "cudaGetDeviceCount")
    out = []
    for i in range(count):
        props = _ok(cudart, cudart.cudaGetDeviceProperties(i), "cudaGetDeviceProperties")
        name = props.name.decode(errors="replace").rstrip("\x00") if isinstance(props.name, bytes) else str(props.name)
        out.append({"index": i, "name": name, "major": props.major, "minor": props.minor})
    return out


# -- the converter ---------------------------------------------------------------------------------
def build(spec: dict[str, Any]) -> dict[str, Any]:
    """Builds the plan of ``spec``; returns what build.json records. Raises WorkerError on failure."""
    import tensorrt as trt

    check_spec(spec)
    cudart = _cudart()
    gpus = _gpus(cudart)
    device = spec.get("device", 0)
    if device >= len(gpus):
        raise WorkerError(f"tensorrt: no CUDA device {device} ({len(gpus)} present)", INVALID_PARAMS, "E_CONFIG")
    _ok(cudart, cudart.cudaSetDevice(device), "cudaSetDevice")
    gpu = gpus[device]
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(spec["onnx"]):
        errors = [describe_parser_error(parser.get_error(i)) for i in range(parser.num_errors)]
        raise WorkerError(
            f"tensorrt: the ONNX parser refused {spec['onnx']}: " + ("; ".join(errors) or "no error recorded"),
            benchalign_code="E_CONVERT",
        )
    inputs = [(network.get_input(i).name, list(network.get_input(i).shape)) for i in range(network.num_inputs)]
    profiles = spec.get("profiles", {})
    problems = missing_profiles(inputs, profiles)
    unknown = sorted(set(profiles) - {n for n, _ in inputs})
    problems += [f"profile for {n}, which is not a network input" for n in unknown]
    if problems:
        raise WorkerError("tensorrt: " + "; ".join(problems), INVALID_PARAMS, "E_SHAPE")
    qdq = {trt.LayerType.QUANTIZE, trt.LayerType.DEQUANTIZE}
    has_qdq = any(network.get_layer(i).type in qdq for i in range(network.num_layers))
    plan = precision_plan(spec["precision"], spec.get("tf32", False), has_qdq, tf32_capable=gpu["major"] >= 8)
    set_flags, clear_flags = builder_flags(plan, set(trt.BuilderFlag.__members__))
    config = builder.create_builder_config()
    for f in set_flags:
        config.set_flag(getattr(trt.BuilderFlag, f))
    for f in clear_flags:
        config.clear_flag(getattr(trt.BuilderFlag, f))
    if spec.get("workspaceMiB") is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, spec["workspaceMiB"] << 20)
    config.builder_optimization_level = spec.get("builderOptimizationLevel", 3)
    if profiles:
        profile = builder.create_optimization_profile()
        for name, p in profiles.items():
            profile.set_shape(name, p["min"], p["opt"], p["max"])
        config.add_optimization_profile(profile)
    if plan["fp16"] and not getattr(builder, "platform_has_fast_fp16", True):  # deprecated in TensorRT 10
        plan["notes"].append(f"{gpu['name']} has no fast fp16: TensorRT may build fp32 kernels")
    t0 = time.perf_counter_ns()
    serialized = builder.build_serialized_network(network, config)
    build_ms = (time.perf_counter_ns() - t0) / 1e6
    if serialized is None:
        raise WorkerError("tensorrt: build_serialized_network failed (the builder's log is above)", benchalign_code="E_CONVERT")
    with open(spec["plan"], "wb") as f:
        f.write(serialized)
    return {
        "backend": "python",
        "tensorrt": trt.__version__,
        "gpu": f"{gpu['name']} sm_{gpu['major']}{gpu['minor']}",
        "precision": plan,
        "builderFlags": {"set": set_flags, "cleared": clear_flags},
        "profiles": profiles,
        "hasQdq": has_qdq,
        "buildMs": build_ms,
        "device": device,
        "workspaceMiB": spec.get("workspaceMiB"),
        "builderOptimizationLevel": spec.get("builderOptimizationLevel", 3),
    }


def build_main(spec_path: str) -> int:
    try:
        with open(spec_path, encoding="utf-8") as f:
            spec = json.load(f)
        info = build(check_spec(spec))
    except WorkerError as e:
        print(f"error [{e.benchalign_code}]: {e}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as e:
        print(f"error [E_IO]: cannot read the build spec {spec_path}: {e}", file=sys.stderr)
        return 2
    except ImportError as e:
        print(f"error [E_ENGINE_MISSING]: {NEEDS}: {e}", file=sys.stderr)
        return 3
    info_path = os.path.join(os.path.dirname(os.path.abspath(spec["plan"])), "build.json")
    with open(info_path, "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2)
    print(f"built {spec['plan']} in {info['buildMs']:.0f} ms ({info['precision']['effectivePrecision']})")
    return 0


# -- the protocol worker ---------------------------------------------------------------------------
class _Buffer:
    """A pinned host array and its device copy."""

    def __init__(self, cudart: Any, np: Any, dtype: Any, shape: tuple[int, ...]) -> None:
        self.cudart = cudart
        self.nbytes = max(1, int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize)
        self.host_ptr = _ok(cudart, cudart.cudaMallocHost(self.nbytes), "cudaMallocHost")
        self.device_ptr = _ok(cudart, cudart.cudaMalloc(self.nbytes), "cudaMalloc")
        raw = (ctypes.c_ubyte * self.nbytes).from_address(self.host_ptr)
        count = int(np.prod(shape, dtype=np.int64))
        self.host = np.frombuffer(raw, dtype=dtype, count=count).reshape(shape)

    def free(self) -> None:
        self.cudart.cudaFree(self.device_ptr)
        self.cudart.cudaFreeHost(self.host_ptr)


class TensorRtEngine(Engine):
    name = "tensorrt"
    thread_safe = False  # one execution context and one stream

    def __init__(self) -> None:
        try:
            import tensorrt as trt
        except ImportError as e:
            raise RuntimeError(f"{NEEDS}: {e}") from e
        try:
            cudart = _cudart()
        except ImportError as e:
            raise RuntimeError(f"{NEEDS}: cuda-python is missing ({e})") from e
        import numpy as np

        self.trt = trt
        self.cudart = cudart
        self.np = np
        try:
            self.gpus = _gpus(cudart)
        except WorkerError as e:
            raise RuntimeError(f"{NEEDS}: {e}") from e
        if not self.gpus:
            raise RuntimeError(f"{NEEDS}: no CUDA device is visible")
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.engine: Any = None
        self.context: Any = None
        self.stream: Any = None
        self.events: list[Any] = []
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.buffers: dict[str, _Buffer] = {}
        self.timing = "host"

    def version(self) -> str:
        return self.trt.__version__

    def devices(self) -> list[str]:
        return [f"cuda:{g['index']} ({g['name']}, sm_{g['major']}{g['minor']})" for g in self.gpus]

    def load(self, model_path: str, options: dict[str, Any], precision: str, shapes: dict[str, list[int]] | None) -> LoadInfo:
        o = Options("tensorrt", options)
        o.choice("backend", "auto", ["auto", "python", "trtexec"])
        device = o.int("device", 0)
        o.bool("tf32", False)
        o.int("builderOptimizationLevel", 3)
        self.timing = o.choice("timing", "host", ["host", "events"])
        o.seen.update({"workspaceMiB", "maxBatchSize", "profiles", "trtexecPath"})  # build options, checked by the harness
        o.done()
        if not model_path.endswith(".plan"):
            raise Unsupported(f"tensorrt: {model_path} is not a TensorRT plan", "a plan built by the runner's prepare() (ONNX is converted there)")
        info_path = os.path.join(os.path.dirname(model_path), "build.json")
        try:
            with open(info_path, encoding="utf-8") as f:
                info = json.load(f)
        except (OSError, ValueError) as e:
            raise WorkerError(f"tensorrt: cannot read {info_path}: {e}", INVALID_PARAMS, "E_IO") from e
        if device >= len(self.gpus):
            raise WorkerError(f"tensorrt: no CUDA device {device} ({len(self.gpus)} present)", INVALID_PARAMS, "E_CONFIG")
        cudart = self.cudart
        _ok(cudart, cudart.cudaSetDevice(device), "cudaSetDevice")
        with open(model_path, "rb") as f:
            blob = f.read()
        runtime = self.trt.Runtime(self.logger)
        self.engine = runtime.deserialize_cuda_engine(blob)
        if self.engine is None:
            raise WorkerError(f"tensorrt: cannot deserialize {model_path} (a plan of another TensorRT version or GPU?)", benchalign_code="E_ENGINE")
        self.context = self.engine.create_execution_context()
        self.stream = _ok(cudart, cudart.cudaStreamCreate(), "cudaStreamCreate")
        self.events = [_ok(cudart, cudart.cudaEventCreate(), "cudaEventCreate") for _ in range(4)]
        trt = self.trt
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        plan = info.get("precision", {})
        notes = list(plan.get("notes", [])) + list(info.get("notes", []))
        if self.timing == "host":
            notes.append("latency: host perf_counter_ns around H2D + execute_async_v3 + D2H + stream sync; phases from CUDA events")
        else:
            notes.append("latency (options.timing = events): CUDA events, H2D + compute + D2H as trtexec's latencyMs; host launch overhead excluded")
        applied = {
            "backend": "python",
            "timing": self.timing,
            "device": device,
            "gpu": info.get("gpu"),
            "tf32": plan.get("tf32"),
            "builderFlags": info.get("builderFlags"),
            "profiles": info.get("profiles"),
            "workspaceMiB": info.get("workspaceMiB"),
            "builderOptimizationLevel": info.get("builderOptimizationLevel"),
        }
        return LoadInfo(self._meta(self.inputs), self._meta(self.outputs), plan.get("effectivePrecision", precision), notes, applied)

    def _meta(self, names: list[str]) -> list[dict[str, Any]]:
        out = []
        for n in names:
            dtype = self.np.dtype(self.trt.nptype(self.engine.get_tensor_dtype(n))).name
            dims = [d if d >= 0 else "?" for d in self.engine.get_tensor_shape(n)]
            out.append(tensor_meta(n, dtype, dims))
        return out

    def _free(self) -> None:
        for b in self.buffers.values():
            b.free()
        self.buffers = {}

    def prepare_inputs(self, feeds: dict[str, Any]) -> Any:
        np, trt = self.np, self.trt
        missing = [n for n in self.inputs if n not in feeds]
        if missing:
            raise WorkerError(f"tensorrt: no data for inputs {missing}", benchalign_code="E_SHAPE", expected=f"inputs {self.inputs}")
        self._free()
        for n in self.inputs:
            want = np.dtype(trt.nptype(self.engine.get_tensor_dtype(n)))
            arr = feeds[n]
            if arr.dtype != want:
                cast = arr.astype(want)
                if not np.array_equal(cast.astype(arr.dtype), arr):
                    raise WorkerError(f"tensorrt: input {n} ({arr.dtype}) does not fit the engine's {want}", benchalign_code="E_SHAPE")
                arr = cast
            if not self.context.set_input_shape(n, tuple(arr.shape)):
                raise WorkerError(
                    f"tensorrt: input {n} shape {list(arr.shape)} is outside the plan's optimization profile",
                    benchalign_code="E_SHAPE",
                    expected="a shape within the profile (options.maxBatchSize / options.profiles)",
                )
            b = _Buffer(self.cudart, np, want, tuple(arr.shape))
            b.host[...] = arr
            self.buffers[n] = b
        for n in self.outputs:
            shape = tuple(self.context.get_tensor_shape(n))
            if any(d < 0 for d in shape):
                raise Unsupported(f"tensorrt: output {n} has a data-dependent shape {list(shape)}", "outputs whose shape follows from the input shapes")
            self.buffers[n] = _Buffer(self.cudart, np, np.dtype(trt.nptype(self.engine.get_tensor_dtype(n))), shape)
        for n, b in self.buffers.items():
            if not self.context.set_tensor_address(n, b.device_ptr):
                raise WorkerError(f"tensorrt: set_tensor_address({n}) failed", benchalign_code="E_ENGINE")
        return True

    def _enqueue(self) -> None:
        cudart, s, ev = self.cudart, self.stream, self.events
        h2d = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        d2h = cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        cudart.cudaEventRecord(ev[0], s)
        for n in self.inputs:
            b = self.buffers[n]
            cudart.cudaMemcpyAsync(b.device_ptr, b.host_ptr, b.nbytes, h2d, s)
        cudart.cudaEventRecord(ev[1], s)
        if not self.context.execute_async_v3(int(s)):
            raise WorkerError("tensorrt: execute_async_v3 failed (the log above says why)", benchalign_code="E_ENGINE")
        cudart.cudaEventRecord(ev[2], s)
        for n in self.outputs:
            b = self.buffers[n]
            cudart.cudaMemcpyAsync(b.host_ptr, b.device_ptr, b.nbytes, d2h, s)
        cudart.cudaEventRecord(ev[3], s)

    def _sync(self) -> None:
        _ok(self.cudart, self.cudart.cudaStreamSynchronize(self.stream), "cudaStreamSynchronize")

    def run(self, prepared: Any) -> Any:
        self._enqueue()
        self._sync()
        return None

    def to_numpy(self, raw: Any) -> dict[str, Any]:
        return {n: self.buffers[n].host.copy() for n in self.outputs}

    def measure_single(self, iterations: int, max_ms: float) -> dict[str, Any] | None:
        cudart, ev = self.cudart, self.events
        phases: dict[str, list[int]] = {"h2d": [], "compute": [], "d2h": []}

        def step() -> None:
            self._enqueue()
            self._sync()

        def sample(host_ns: int) -> int:
            split = []
            for key, a, b in (("h2d", 0, 1), ("compute", 1, 2), ("d2h", 2, 3)):
                ms = _ok(cudart, cudart.cudaEventElapsedTime(ev[a], ev[b]), "cudaEventElapsedTime")
                split.append(int(round(ms * 1e6)))
                phases[key].append(split[-1])
            return host_ns if self.timing == "host" else sum(split)

        return {**timed_loop(step, iterations, max_ms, sample), "phasesNs": phases}

    def unload(self) -> None:
        if self.stream is not None:
            self.cudart.cudaStreamSynchronize(self.stream)
        self._free()
        for e in self.events:
            self.cudart.cudaEventDestroy(e)
        if self.stream is not None:
            self.cudart.cudaStreamDestroy(self.stream)
        self.events = []
        self.stream = None
        self.context = None
        self.engine = None


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--build":
        sys.exit(build_main(sys.argv[2]))
    serve(TensorRtEngine)
