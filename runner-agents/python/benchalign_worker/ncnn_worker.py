"""The ncnn worker: runs a model that ncnn_convert.py converted from ONNX with pnnx.

``modelPath`` is the converted ``model.ncnn.param``; ``model.ncnn.bin`` and the mapping
``benchalign-ncnn.json`` lie next to it. Inputs and outputs keep the ONNX names: the worker
feeds ``in0, in1, ...`` and reads ``out0, out1, ...`` by position, removes the batch dim (ncnn
Mats are c,h,w) from every input and puts it back on every output, and reports both steps
(``reconciliation`` and notes).

Precision is explicit: ncnn's defaults turn fp16 storage/arithmetic/packing on wherever the
CPU supports them (ARM), so the worker always sets ``use_fp16_storage``,
``use_fp16_arithmetic``, ``use_fp16_packed`` and ``use_bf16_storage`` and records them.

Options: ``threads`` (opt.num_threads, default 1), ``powersave`` (all|little|big,
ncnn.set_cpu_powersave, default all), ``vulkan`` (opt.use_vulkan_compute, default false),
``vulkanDevice`` (default 0), ``fp16Storage`` / ``fp16Arithmetic`` / ``fp16Packed`` (default:
true for fp16 jobs; a fp32 job refuses them), ``lightMode`` (Extractor light mode, default true).
"""

from __future__ import annotations

import json
import os
import platform
from typing import Any

from .options import Options
from .protocol import UNSUPPORTED, Engine, LoadInfo, Unsupported, WorkerError, config_error, serve, tensor_meta

_POWERSAVE = {"all": 0, "little": 1, "big": 2}
_POWERSAVE_NAME = {v: k for k, v in _POWERSAVE.items()}
_SIDECAR = "benchalign-ncnn.json"
_SIDECAR_FORMAT = 3
_DTYPES = ("float32", "float16", "float64", "int32", "int64")


def _vulkan_loader() -> str | None:
    """None when the Vulkan loader can be opened, else why not (checked before ncnn tries, which prints noise)."""
    import ctypes

    try:
        ctypes.CDLL("libvulkan.so.1")
        return None
    except OSError as e:
        return f"no Vulkan loader ({e})"


def _x86_f16c() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return "f16c" in line.split()
    except OSError:
        pass
    return False


def fp16_effect(machine: str, vulkan: bool, storage: bool, arithmetic: bool, asimdhp: bool, f16c: bool, fp16_weights: bool) -> tuple[str, str]:
    """What a fp16 job really runs: (effectivePrecision, why), from the switches and the CPU.

    ``fp16`` (blobs and arithmetic in fp16), ``fp16-storage`` (blobs in fp16, arithmetic in
    fp32), ``fp16-weights`` (only the weights rounded to fp16, by pnnx), or ``fp32``. ncnn keeps
    blobs in fp16 on ARM and Vulkan; fp16 arithmetic needs ARMv8.2 FP16 (asimdhp). On x86,
    activations and arithmetic stay fp32 whatever the switches say (fp16 storage there only
    keeps some layers' weights in fp16, with F16C).
    """
    rest = "fp16-weights" if fp16_weights else "fp32"
    rounded = "; the weights were rounded to fp16 by pnnx (fp16=1)" if fp16_weights else ""
    if vulkan:
        if storage:
            return "fp16", "Vulkan: fp16 storage" + (" and arithmetic" if arithmetic else "") + " where the device supports them"
        return rest, "Vulkan with fp16Storage off: blobs stay fp32" + rounded
    if machine in ("aarch64", "arm64") or machine.startswith("arm"):
        if storage and arithmetic and asimdhp:
            return "fp16", "ARM: fp16 storage and fp16 arithmetic (asimdhp)"
        if storage:
            why = "off" if not arithmetic else "unsupported (no asimdhp: fp16 arithmetic needs ARMv8.2 FP16)"
            return "fp16-storage", f"ARM: blobs stored in fp16, fp16 arithmetic {why}, so layers compute in fp32"
        return rest, "ARM with fp16Storage off: blobs and arithmetic stay fp32" + rounded
    if machine in ("x86_64", "amd64", "i386", "i686", "x86"):
        kept = " (fp16 storage keeps some layers' weights in fp16, with F16C)" if storage and f16c else ""
        return rest, f"x86: ncnn keeps activations and arithmetic in fp32{kept}" + rounded
    if storage or arithmetic:
        return "fp16", f"{machine}: fp16 storage/arithmetic wherever this CPU and ncnn support them (not checked by the runner)"
    return rest, f"{machine}: fp16 switches off" + rounded


class NcnnEngine(Engine):
    name = "ncnn"
    thread_safe = True  # one Net, one Extractor per call (ncnn: a Net may be shared by threads)

    def __init__(self) -> None:
        import ncnn
        import numpy as np
        import pnnx  # noqa: F401 - the converter `prepare` runs; missing means the engine is unusable

        self.ncnn = ncnn
        self.np = np
        self.net: Any = None
        self.spec: dict[str, Any] = {}
        self.light_mode = True

    def version(self) -> str:
        return self.ncnn.__version__

    def devices(self) -> list[str]:
        out = ["cpu"]
        if _vulkan_loader() is None:
            out += [f"vulkan:{i}" for i in range(self.ncnn.get_gpu_count())]
        return out

    # -- load ----------------------------------------------------------------------------------
    def _read_spec(self, model_path: str) -> dict[str, Any]:
        sidecar = os.path.join(os.path.dirname(model_path), _SIDECAR)
        if not model_path.endswith(".ncnn.param") or not os.path.exists(sidecar):
            raise config_error(
                f"ncnn: {model_path} is not a model converted by the ncnn runner ({_SIDECAR} missing next to it)",
                "the model.ncnn.param that `prepare` converts from ONNX with pnnx",
            )
        try:
            with open(sidecar, encoding="utf-8") as f:
                spec = json.load(f)
            if not isinstance(spec, dict) or spec.get("format") != _SIDECAR_FORMAT:
                raise ValueError(f"format {spec.get('format') if isinstance(spec, dict) else None!r}, expected {_SIDECAR_FORMAT}")
            for side in ("inputs", "outputs"):
                entries = spec.get(side)
                if not isinstance(entries, list) or not entries:
                    raise ValueError(f"{side}: expected a non-empty list")
                for k, t in enumerate(entries):
                    ok = isinstance(t, dict) and all(isinstance(t.get(f), str) for f in ("name", "blob", "dtype"))
                    shape = t.get("shape") if isinstance(t, dict) else None
                    if not ok or not isinstance(shape, list) or not shape or not all(type(d) is int and d > 0 for d in shape):
                        raise ValueError(f"{side}[{k}]: expected {{name, blob, dtype, shape: [positive ints]}}")
                    if t["dtype"] not in _DTYPES:
                        raise ValueError(f"{side}[{k}].dtype: {t['dtype']!r}, expected one of {'|'.join(_DTYPES)}")
        except (OSError, ValueError) as e:
            raise WorkerError(f"ncnn: cannot read {sidecar}: {e}", benchalign_code="E_IO", expected="the conversion's mapping file") from e
        return spec

    def load(self, model_path: str, options: dict[str, Any], precision: str, shapes: dict[str, list[int]] | None) -> LoadInfo:
        ncnn = self.ncnn
        if precision not in ("fp32", "fp16"):
            raise Unsupported(
                f"ncnn: precision {precision} is not supported by this runner",
                "fp32|fp16 (ncnn int8 needs a model quantized with ncnn2int8 and a calibration table)",
            )
        fp16_job = precision == "fp16"
        o = Options("ncnn", options)
        threads = o.int("threads", 1, minimum=1)
        powersave = o.choice("powersave", "all", list(_POWERSAVE))
        vulkan = o.bool("vulkan", False)
        vulkan_device = o.int("vulkanDevice", 0)
        fp16 = {k: o.bool(k, fp16_job) for k in ("fp16Storage", "fp16Arithmetic", "fp16Packed")}
        light = o.bool("lightMode", True)
        if not fp16_job:
            for k, v in fp16.items():
                if v:
                    o.problems.append(f"options.{k}: true contradicts precision fp32 (ask for precision fp16)")
        o.done()

        spec = self._read_spec(model_path)
        for i in spec["inputs"]:
            want = (shapes or {}).get(i["name"])
            # a batch of N was converted for batch 1 (emulated batching)
            converted = [spec.get("batch", 1)] + i["shape"][1:]
            if want is not None and list(want) != converted:
                raise WorkerError(
                    f"ncnn: input {i['name']!r} was converted for shape {converted}, the job asks for {list(want)}",
                    benchalign_code="E_SHAPE",
                    expected="the shapes the model was converted with (prepare converts again when they change)",
                )

        notes: list[str] = []
        if vulkan:
            why = _vulkan_loader()
            count = ncnn.get_gpu_count() if why is None else 0
            if why is None and vulkan_device >= count:
                why = f"Vulkan device {vulkan_device} does not exist ({count} Vulkan device(s))"
            if why is not None:
                raise Unsupported(f"ncnn: vulkan requested, but {why}", "a machine with a Vulkan driver and GPU, or vulkan: false")

        rc = ncnn.set_cpu_powersave(_POWERSAVE[powersave])
        got_powersave = ncnn.get_cpu_powersave()
        if rc != 0 or got_powersave != _POWERSAVE[powersave]:
            notes.append(f"powersave {powersave} not applied (set_cpu_powersave returned {rc}); running with {_POWERSAVE_NAME.get(got_powersave, got_powersave)}")
        big, little = ncnn.get_big_cpu_count(), ncnn.get_little_cpu_count()
        if powersave != "all" and little == 0:
            notes.append(f"powersave {powersave}: this CPU reports no little cores ({big} big), so big/little affinity cannot split its cores")

        net = ncnn.Net()
        opt = net.opt
        opt.num_threads = threads
        opt.lightmode = light
        opt.use_vulkan_compute = vulkan
        opt.use_fp16_storage = fp16["fp16Storage"]
        opt.use_fp16_arithmetic = fp16["fp16Arithmetic"]
        opt.use_fp16_packed = fp16["fp16Packed"]
        opt.use_bf16_storage = False
        opt.use_bf16_packed = False
        opt.use_int8_inference = False
        if vulkan:
            net.set_vulkan_device(vulkan_device)
        bin_path = model_path[: -len(".param")] + ".bin"
        if net.load_param(model_path) != 0:
            raise WorkerError(f"ncnn: load_param failed for {model_path} (see the worker's stderr for ncnn's message)", benchalign_code="E_ENGINE")
        if net.load_model(bin_path) != 0:
            raise WorkerError(f"ncnn: load_model failed for {bin_path}", benchalign_code="E_ENGINE")
        self.net = net
        self.spec = spec
        self.light_mode = light

        effective = "fp32"
        if not fp16_job and spec.get("fp16Weights"):
            effective = "fp16-weights"
            notes.append("asked for fp32, but this conversion has fp16 weights (pnnx fp16=1): runs fp16-weights")
        if fp16_job:
            asimdhp = bool(ncnn.cpu_support_arm_asimdhp())
            effective, why = fp16_effect(
                platform.machine().lower(), vulkan, fp16["fp16Storage"], fp16["fp16Arithmetic"], asimdhp, _x86_f16c(), bool(spec.get("fp16Weights"))
            )
            notes.append(f"asked for fp16, runs {effective}: {why}")
        if spec.get("fp16Weights"):
            notes.append("weights converted to fp16 by pnnx (fp16=1)")

        batch = spec.get("batch", 1)
        if type(batch) is not int or batch < 1:
            raise WorkerError(f"ncnn: {_SIDECAR}: batch {batch!r}", benchalign_code="E_IO", expected="a positive integer")
        self.batch = batch
        inputs_meta = [tensor_meta(i["name"], i["dtype"], [batch] + i["shape"][1:]) for i in spec["inputs"]]
        outputs_meta = [tensor_meta(x["name"], x["dtype"], [batch] + x["shape"][1:]) for x in spec["outputs"]]
        if batch > 1:
            notes.append(
                f"emulated batching: ncnn Mats have no batch dimension, so each inference runs the {batch} items of the batch "
                f"one after another (a fresh extractor per item, so no blob of one item is reused for the next) and stacks the outputs; "
                f"latency is that of the whole batch"
            )
        feed = []
        for i in spec["inputs"]:
            step = f"{i['name']} -> {i['blob']} (batch dim removed: ncnn Mat {i['shape'][1:]})"
            if i.get("feed") == "float32":
                step += f", {i['dtype']} fed as float32 (used only through casts to float)"
            elif i["dtype"] == "int64":
                step += ", int64 fed as int32"
            elif i["dtype"] in ("float16", "float64"):
                step += f", {i['dtype']} fed as float32"
            feed.append(step)
        notes.append("inputs: " + "; ".join(feed))
        notes.extend(spec.get("notes", []))
        reconciliation = {}
        for x in spec["outputs"]:
            layout = [f"added batch dim (ncnn Mat {x['shape'][1:]} -> {x['shape']})"]
            if batch > 1:
                layout = [f"stacked {batch} items (ncnn Mat {x['shape'][1:]} each -> {[batch] + x['shape'][1:]})"]
            if x["dtype"] != "float32":
                layout.append(f"{'int32' if x['dtype'].startswith('int') else 'float32'} -> {x['dtype']}")
            reconciliation[x["name"]] = {"engineName": x["blob"], "layout": layout}
        applied = {
            "threads": threads,
            "powersave": powersave,
            "vulkan": vulkan,
            "lightMode": light,
            "opt.num_threads": threads,
            "opt.use_vulkan_compute": vulkan,
            "opt.use_fp16_storage": fp16["fp16Storage"],
            "opt.use_fp16_arithmetic": fp16["fp16Arithmetic"],
            "opt.use_fp16_packed": fp16["fp16Packed"],
            "opt.use_bf16_storage": False,
            "set_cpu_powersave": _POWERSAVE[powersave],
            "pnnx.fp16": 1 if spec.get("fp16Weights") else 0,
            "converter": spec.get("converter"),
        }
        if vulkan:
            applied["vulkanDevice"] = vulkan_device
        if batch > 1:
            applied["emulatedBatch"] = batch
        return LoadInfo(inputs_meta, outputs_meta, effective, notes, applied, reconciliation)

    # -- run -----------------------------------------------------------------------------------
    def prepare_inputs(self, feeds: dict[str, Any]) -> Any:
        np = self.np
        names = [i["name"] for i in self.spec["inputs"]]
        missing = [n for n in names if n not in feeds]
        if missing:
            raise WorkerError(f"ncnn: no data for inputs {missing}", benchalign_code="E_SHAPE", expected=f"inputs {names}")
        mats = []
        for i in self.spec["inputs"]:
            a = feeds[i["name"]]
            shape = list(a.shape)
            want = [self.batch] + i["shape"][1:]
            if len(shape) == len(want) and shape[0] != self.batch and shape[1:] == want[1:]:
                raise WorkerError(
                    f"ncnn: input {i['name']!r} has batch {shape[0]} ({shape}); ncnn Mats have no batch dimension and this "
                    f"model was converted to run batch {self.batch} ({want})",
                    rpc_code=UNSUPPORTED,
                    benchalign_code="E_UNSUPPORTED",
                    expected=f"batch {self.batch} (shapes: in the suite sets it)",
                )
            if shape != want:
                raise WorkerError(
                    f"ncnn: input {i['name']!r} has shape {shape}; the model was converted for {want}",
                    benchalign_code="E_SHAPE",
                    expected=f"{i['name']}: {want}",
                )
            if a.dtype.kind in "iub" and i.get("feed") == "float32":
                if a.size and (a.min() < -(2**24) or a.max() > 2**24):
                    raise WorkerError(
                        f"ncnn: input {i['name']!r} holds integers beyond 2^24, which float32 (what this conversion feeds) cannot hold exactly",
                        benchalign_code="E_UNSUPPORTED",
                        expected="integers within +-2^24",
                    )
                a = a.astype(np.float32)
            elif a.dtype.kind in "iub":
                if a.size and (a.min() < -(2**31) or a.max() >= 2**31):
                    raise WorkerError(
                        f"ncnn: input {i['name']!r} holds values outside int32, which ncnn takes instead of {a.dtype}",
                        benchalign_code="E_UNSUPPORTED",
                        expected="integers within int32",
                    )
                a = a.astype(np.int32)
            else:
                a = a.astype(np.float32)
            mats.append([(i["blob"], self.ncnn.Mat(np.ascontiguousarray(a[k])).clone()) for k in range(self.batch)])
        # one list of (blob, Mat) per batch item
        return [[per_input[k] for per_input in mats] for k in range(self.batch)]

    def _extract(self, mats: list[tuple[str, Any]]) -> list[Any]:
        ex = self._extractor(mats)
        out = []
        for x in self.spec["outputs"]:
            rc, m = ex.extract(x["blob"])
            if rc != 0:
                raise WorkerError(f"ncnn: extract({x['blob']}) for output {x['name']!r} returned {rc}", benchalign_code="E_ENGINE")
            out.append(m)
        return out

    def run(self, prepared: Any) -> Any:
        return [self._extract(item) for item in prepared]

    def callers(self, prepared: Any, n: int) -> list[Any]:
        return [(lambda: [self._extract(item) for item in prepared]) for _ in range(n)]

    def to_numpy(self, raw: Any) -> dict[str, Any]:
        np = self.np
        out: dict[str, Any] = {}
        for j, x in enumerate(self.spec["outputs"]):
            is_int = x["dtype"].startswith("int")
            want = x["shape"]
            items = []
            for item in raw:
                m = item[j]
                a = np.array(m.numpy("i") if is_int else m.numpy("f"), copy=True)
                if list(a.shape) != want[1:]:
                    raise WorkerError(
                        f"ncnn: output {x['name']!r} ({x['blob']}) has shape {list(a.shape)}; pnnx said {want[1:]} (without the batch dim)",
                        benchalign_code="E_SHAPE",
                        expected=f"{x['name']}: {want}",
                    )
                items.append(a.reshape(want))
            a = np.concatenate(items, axis=0) if len(items) > 1 else items[0]
            out[x["name"]] = a if x["dtype"] == "float32" else a.astype(x["dtype"])
        return out

    def _extractor(self, mats: Any) -> Any:
        """A fresh extractor in the job's light mode, fed one item's (blob index, Mat) pairs."""
        ex = self.net.create_extractor()
        ex.set_light_mode(self.light_mode)
        for blob, m in mats:
            ex.input(blob, m)
        return ex

    def _profile_plan(self) -> list[tuple[str, str, int]]:
        """The layers an inference runs, in the param file's (topological) order, as (name, type,
        first top blob index): the producers of the outputs and everything they need, Input
        layers left out (their blobs are fed, not computed)."""
        layers = self.net.layers()
        blobs = self.net.blobs()
        need: set[int] = set()
        stack = [int(i) for i in self.net.output_indexes()]
        seen: set[int] = set()
        while stack:
            b = stack.pop()
            if b in seen or not 0 <= b < len(blobs):
                continue
            seen.add(b)
            producer = int(blobs[b].producer)
            if 0 <= producer < len(layers) and producer not in need:
                need.add(producer)
                stack.extend(int(x) for x in layers[producer].bottoms)
        return [
            (str(layers[k].name), str(layers[k].type), int(layers[k].tops[0]))
            for k in sorted(need)
            if str(layers[k].type) != "Input" and len(layers[k].tops) > 0
        ]

    def profile(self, prepared: Any, iterations: int, max_ms: float, work_dir: str) -> dict[str, Any]:
        """Per-layer times by incremental extraction: the pip build of ncnn has no per-layer timing
        (NCNN_BENCHMARK), but ncnn computes lazily, so with one extractor, extracting the first
        top blob of each layer in the param file's topological order runs exactly the layers not
        yet run: that layer alone (ncnn's converter gives every blob at most one consumer, via
        Split layers, so light mode never frees a blob that is still needed). Each extract is
        timed; the cost of extracting a blob that is already there (the Python call and ncnn's
        lookup) is measured each pass and taken off. Extracts ask for the blob as it is
        (type 1: no unpacking or fp16 -> fp32 conversion), and the Mat is dropped at once, so an
        in-place consumer does not copy it. CPU only: on Vulkan every extract would download."""
        import time

        if bool(self.net.opt.use_vulkan_compute):
            raise Unsupported(
                "ncnn: per-layer times by incremental extraction are CPU-only (on Vulkan each extract downloads the blob and waits for the GPU)",
                "vulkan: false",
            )
        plan = self._profile_plan()
        if not plan:
            raise WorkerError("ncnn: the net has no layers to profile", benchalign_code="E_ENGINE")
        clock = time.perf_counter_ns
        times = [0] * len(plan)
        present = next(int(i) for i in self.net.input_indexes())
        deadline = clock() + int(max_ms * 1e6)
        done = 0
        wall = 0
        overhead_samples: list[int] = []
        for item in prepared:  # first pass allocates; not counted
            ex = self._extractor(item)
            for _name, _type, top in plan:
                rc, _m = ex.extract(top, 1)
        while done < iterations:
            pass_times = [0] * len(plan)
            t_start = clock()
            for item in prepared:
                ex = self._extractor(item)
                for k, (name, _type, top) in enumerate(plan):
                    t0 = clock()
                    rc, _m = ex.extract(top, 1)
                    t1 = clock()
                    del _m
                    if rc != 0:
                        raise WorkerError(f"ncnn: extract of layer {name}'s output (blob {top}) returned {rc}", benchalign_code="E_ENGINE")
                    pass_times[k] += t1 - t0
                # the cost of an extract that computes nothing: the fed input blob, already there
                for _ in range(3):
                    t0 = clock()
                    rc, _m = ex.extract(present, 1)
                    overhead_samples.append(clock() - t0)
                    del _m
            wall += clock() - t_start
            for k, t in enumerate(pass_times):
                times[k] += t
            done += 1
            if clock() >= deadline:
                break
        overhead_samples.sort()
        per_extract = overhead_samples[len(overhead_samples) // 2]
        runs = done * len(prepared)
        layers = [
            {"name": name, "opType": typ, "timeNs": max(0, times[k] - per_extract * runs), "count": runs}
            for k, (name, typ, _top) in enumerate(plan)
        ]
        notes = [
            "measured by incremental extraction (the pip ncnn has no per-layer timer): each layer's time is that of extracting its output "
            "right after the layers before it, less the cost of an extract that computes nothing "
            f"({per_extract / 1000:.1f} us, median); the profiled wall time includes one Python call per layer",
            "names are ncnn's (pnnx names layers itself, e.g. convrelu_0 for a Conv with its ReLU fused; the ONNX node names are not kept)",
        ]
        if len(prepared) > 1:
            notes.append(f"emulated batching: each profiled inference ran the {len(prepared)} items of the batch; count is per item")
        return {"profiler": "ncnn incremental extraction", "iterations": done, "wallNs": wall, "layers": layers, "notes": notes}

    def unload(self) -> None:
        if self.net is not None:
            self.net.clear()
        self.net = None
        self.spec = {}


if __name__ == "__main__":
    serve(NcnnEngine)
