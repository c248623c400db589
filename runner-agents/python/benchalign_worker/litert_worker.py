"""The LiteRT (TensorFlow Lite) worker: pip ``ai-edge-litert``'s Interpreter, on a ``.tflite``
model that the runner's `prepare` converted from the suite model's PyTorch form with
``litert-torch`` (benchalign_worker.litert_convert) and cached, or on a ``.tflite`` given as the
model.

Options: ``threads`` (Interpreter num_threads, default 1) and ``xnnpack`` (default true: the
op resolver that applies LiteRT's default XNNPACK delegate; false:
BUILTIN_WITHOUT_DEFAULT_DELEGATES, the reference builtin kernels). The delegate that really
ran is read from the execution plan (a DELEGATE node) and recorded.

Precision: fp32 runs the model as converted. The Python Interpreter has no XNNPACK fp16 switch
(and XNNPACK computes fp16 on x86 only with AVX512-FP16), so fp16/bf16 jobs are refused; an
int8 model (quantized elsewhere) runs as given in an int8 job, its quantized I/O fed as is.

Reconciliation: litert-torch narrows int64/float64 model inputs and outputs to 32 bits, so
int64 feeds are narrowed to int32 (values checked to fit) and outputs the PyTorch model
returns as int64 are widened back; inputs and outputs are matched to the model's names by
position in the serving signature, and both steps are reported.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .options import Options
from .protocol import Engine, LoadInfo, Unsupported, WorkerError, config_error, serve, tensor_meta

_SIDECAR_MAX_BYTES = 1 << 20


def _read_record(path: str) -> dict[str, Any] | None:
    if not os.path.isfile(path):
        return None
    if os.path.getsize(path) > _SIDECAR_MAX_BYTES:
        raise config_error(f"litert: {path} is larger than {_SIDECAR_MAX_BYTES} bytes", "a small JSON object")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except ValueError as e:
        raise config_error(f"litert: {path} is not valid JSON: {e}", "a JSON object") from e
    ok = isinstance(data, dict) and all(
        isinstance(data.get(k), list) and all(isinstance(m, dict) and isinstance(m.get("name"), str) and isinstance(m.get("dtype"), str) for m in data[k]) for k in ("inputs", "outputs")
    )
    if not ok:
        raise config_error(f"litert: {path} is malformed", "{inputs: [{name, dtype, dims}], outputs: [{name, dtype, dims}]}")
    return data


class LiteRtEngine(Engine):
    name = "litert"
    thread_safe = False  # one Interpreter, one caller

    def __init__(self) -> None:
        import numpy as np
        from ai_edge_litert import interpreter as litert

        self.np = np
        self.litert = litert
        self.interp: Any = None
        self.in_details: list[dict[str, Any]] = []
        self.out_details: list[dict[str, Any]] = []
        self.input_names: list[str] = []
        self.output_names: list[str] = []
        self.widen: set[str] = set()
        self.model_path = ""
        self.settings: tuple[int, bool] = (1, True)
        self.sig_names: list[str] = []
        self.feeds: list[tuple[str, Any]] = []

    def version(self) -> str:
        from importlib.metadata import version

        return version("ai-edge-litert")

    def load(self, model_path: str, options: dict[str, Any], precision: str, shapes: dict[str, list[int]] | None) -> LoadInfo:
        np, litert = self.np, self.litert
        o = Options("litert", options)
        threads = o.int("threads", 1, minimum=1)
        xnnpack = o.bool("xnnpack", True)
        o.done()
        if precision not in ("fp32", "int8"):
            raise Unsupported(
                f"litert: precision {precision} is not supported here",
                "fp32, or int8 for a model quantized elsewhere (the Python Interpreter has no XNNPACK fp16 switch)",
            )
        if not model_path.endswith(".tflite"):
            raise config_error(f"litert: {model_path} is not a .tflite model", "a .tflite file (the litert runner's prepare converts the model's PyTorch form)")
        record = _read_record(model_path + ".convert.json")
        resolver = litert.OpResolverType.AUTO if xnnpack else litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        try:
            self.interp = litert.Interpreter(model_path=model_path, num_threads=threads, experimental_op_resolver_type=resolver)
            self.interp.allocate_tensors()
        except Exception as e:  # noqa: BLE001 - LiteRT's message names the op it lacks
            raise WorkerError(f"litert: cannot load {model_path}: {type(e).__name__}: {' '.join(str(e).split())[:1200]}", benchalign_code="E_ENGINE", expected="a .tflite model LiteRT runs") from e
        ops = self.interp._get_ops_details()  # noqa: SLF001 - the only view of the execution plan
        self.model_path, self.settings = model_path, (threads, xnnpack)
        delegated = sum(1 for op in ops if op.get("op_name") == "DELEGATE")
        kernels = sorted({str(op.get("op_name")) for op in ops if op.get("op_name") != "DELEGATE"})
        self.in_details = sorted(self.interp.get_input_details(), key=lambda d: d["index"])
        self.out_details = self.interp.get_output_details()
        sig = self.interp.get_signature_list().get("serving_default")
        if sig is not None:
            # order the engine tensors as the signature lists them (the model's argument order)
            runner_in = self.interp.get_signature_runner("serving_default").get_input_details()
            runner_out = self.interp.get_signature_runner("serving_default").get_output_details()
            by_index_in = {d["index"]: d for d in self.in_details}
            by_index_out = {d["index"]: d for d in self.out_details}
            self.in_details = [by_index_in[runner_in[n]["index"]] for n in sig["inputs"]]
            self.out_details = [by_index_out[runner_out[n]["index"]] for n in sig["outputs"]]
        self.sig_names = list(sig["inputs"]) if sig is not None else [str(d["name"]) for d in self.in_details]
        rec_in = record["inputs"] if record else []
        rec_out = record["outputs"] if record else []
        self.input_names = [m["name"] for m in rec_in] if len(rec_in) == len(self.in_details) else [d["name"] for d in self.in_details]
        self.output_names = [m["name"] for m in rec_out] if len(rec_out) == len(self.out_details) else [d["name"] for d in self.out_details]
        notes: list[str] = []
        reconciliation: dict[str, dict[str, Any]] = {}
        inputs = []
        for i, (name, d) in enumerate(zip(self.input_names, self.in_details)):
            declared = rec_in[i]["dtype"] if rec_in else str(np.dtype(d["dtype"]))
            if declared != str(np.dtype(d["dtype"])):
                notes.append(f"input {name}: the model takes {declared}, LiteRT takes {np.dtype(d['dtype'])} (litert-torch narrows 64-bit I/O): feeds are narrowed, values checked to fit")
            inputs.append(tensor_meta(name, declared, [int(x) for x in d["shape"]]))
        outputs = []
        self.widen = set()
        for i, (name, d) in enumerate(zip(self.output_names, self.out_details)):
            engine_dtype = str(np.dtype(d["dtype"]))
            declared = rec_out[i]["dtype"] if rec_out else engine_dtype
            entry: dict[str, Any] = {"layout": []}
            if d["name"] != name:
                entry["engineName"] = d["name"]
            if declared != engine_dtype:
                self.widen.add(name)
                entry["layout"].append(f"{engine_dtype}->{declared}")
            if len(entry) > 1 or entry["layout"]:
                reconciliation[name] = entry
            outputs.append(tensor_meta(name, declared, [int(x) for x in d["shape"]]))
        if shapes:
            built = {m["name"]: m["dims"] for m in inputs}
            wrong = {k: v for k, v in shapes.items() if built.get(k) != list(v)}
            if wrong:
                raise WorkerError(f"litert: {model_path} takes input shapes {built}, the job gives {wrong}", benchalign_code="E_SHAPE", expected="the shapes it was converted for")
        delegate = "XNNPACK" if delegated > 0 else "none"
        if xnnpack and delegated == 0:
            notes.append("xnnpack: true, but XNNPACK took no node of this model: the builtin kernels ran it")
        applied = {"threads": threads, "xnnpack": xnnpack, "delegate": delegate, "delegatedPartitions": delegated, "modelOps": kernels}
        if record is not None:
            applied["exported"] = record.get("exported")
            applied["converter"] = f"litert-torch {record.get('version')}"
        else:
            notes.append("this .tflite was given as is (converted elsewhere): names are the signature's")
        quantized = any(np.dtype(d["dtype"]).kind in "iu" and d.get("quantization", (0.0, 0))[0] != 0.0 for d in self.in_details)
        effective = "int8" if precision == "int8" and quantized else "fp32"
        if precision == "int8" and not quantized:
            notes.append("asked for int8, but this model's inputs are not quantized: it runs as converted")
        return LoadInfo(inputs, outputs, effective, notes, applied, reconciliation)

    def prepare_inputs(self, feeds: dict[str, Any]) -> Any:
        np = self.np
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise WorkerError(f"litert: no data for inputs {missing}", benchalign_code="E_SHAPE", expected=f"inputs {self.input_names}")
        self.feeds = []
        for sig_name, name, d in zip(self.sig_names, self.input_names, self.in_details):
            arr = np.ascontiguousarray(feeds[name])
            want = np.dtype(d["dtype"])
            if arr.dtype != want:
                if want.kind in "iu" and arr.dtype.kind in "iub":
                    info = np.iinfo(want)
                    if arr.size and (arr.min() < info.min or arr.max() > info.max):
                        raise WorkerError(f"litert: input {name} has values in [{arr.min()}, {arr.max()}], outside {want}", benchalign_code="E_UNSUPPORTED", expected=f"values that fit {want}")
                    arr = arr.astype(want)
                elif want.kind == "f" and arr.dtype.kind == "f":
                    arr = arr.astype(want)
                else:
                    raise WorkerError(f"litert: input {name} is {arr.dtype}, LiteRT takes {want}", benchalign_code="E_SHAPE", expected=str(want))
            self.interp.set_tensor(d["index"], arr)
            self.feeds.append((sig_name, np.ascontiguousarray(arr)))
        return None

    def run(self, prepared: Any) -> Any:
        # the inputs stay in the interpreter's tensors between calls (set in prepare_inputs)
        self.interp.invoke()
        return None

    def to_numpy(self, raw: Any) -> dict[str, Any]:
        np = self.np
        out: dict[str, Any] = {}
        for name, d in zip(self.output_names, self.out_details):
            a = np.array(self.interp.get_tensor(d["index"]), copy=True)
            out[name] = a.astype(np.int64 if a.dtype.kind in "iu" else np.float64) if name in self.widen else a
        return out

    def profile(self, prepared: Any, iterations: int, max_ms: float, work_dir: str) -> dict[str, Any]:
        """LiteRT's own op profiler, through the C API of the wheel's libLiteRt.so (the Python
        Interpreter has none): the same .tflite compiled as a CompiledModel with the runtime option
        enable_profiling, the same threads and kernels (XNNPACK or builtin), the same inputs.
        Builtin kernels report per TFLite node (<op>#<node index>: litert-torch's tensor names are
        export scopes, no help); XNNPACK per XNNPACK operator inside its delegate (its own indices)."""
        from .litert_profile import ProfileUnavailable, profile_compiled_model

        threads, xnnpack = self.settings
        try:
            raw = profile_compiled_model(self.model_path, self.feeds, threads, xnnpack, iterations, max_ms)
        except ProfileUnavailable as e:
            raise Unsupported(f"litert: the C API profiler could not be used: {e}", "another engine's profile, or LiteRT's benchmark_model --enable_op_profiling") from e
        except (OSError, ValueError, TypeError, AttributeError) as e:
            raise Unsupported(f"litert: the C API profiler failed: {type(e).__name__}: {e}", "another engine's profile") from e
        layers = []
        for op in raw["ops"]:
            node = int(op["nodeIndex"])
            name = f"xnnpack#{node}" if op["delegate"] else f"{op['opType']}#{node}"
            layers.append({"name": name, "opType": str(op["opType"]), "timeNs": int(op["timeNs"]), "count": int(op["count"])})
        if not layers:
            raise Unsupported(f"litert: the C API profiler recorded no operator events ({raw['events']} events of types {sorted(raw['eventTypes'])})", "another engine's profile")
        notes = [
            "LiteRT's op profiler (CompiledModel with enable_profiling, via the C API of the wheel's libLiteRt.so): "
            "op times are whole microseconds per run, so ops under 1 us count as 0",
        ]
        if any(op["delegate"] for op in raw["ops"]):
            notes.append("XNNPACK rows are XNNPACK operators (named xnnpack#<its index>, typed as XNNPACK names them), not TFLite nodes")
        return {"profiler": "litert CompiledModel profiler", "iterations": raw["iterations"], "wallNs": raw["wallNs"], "layers": layers, "notes": notes}

    def unload(self) -> None:
        self.interp = None


if __name__ == "__main__":
    serve(LiteRtEngine)
