"""The OpenVINO worker: reads ONNX directly and compiles it for a device with an explicit
inference precision hint (OpenVINO may otherwise pick bf16/f16 by itself).

Options: ``device`` (default CPU), ``threads`` (INFERENCE_NUM_THREADS, 0 = OpenVINO's choice,
default 1), ``performanceHint`` (LATENCY|THROUGHPUT, default LATENCY), ``streams`` (NUM_STREAMS,
0 = from the hint, default 0).

Names: a port of OpenVINO's model can carry several tensor names (a Parameter whose value feeds
a folded Reshape also gets the Reshape's output name), and ``get_any_name()`` returns any of
them. The worker names each port by the ONNX graph's own input or output name when the port
carries it (read from the .onnx file without its weights), else by ``get_any_name()``.
"""

from __future__ import annotations

from typing import Any

from .options import Options
from .protocol import Engine, LoadInfo, Unsupported, WorkerError, serve, tensor_meta, profiled_runs

_HINT = {"fp32": "f32", "fp16": "f16", "bf16": "bf16"}
_PRECISION_OF = {"f32": "fp32", "f16": "fp16", "bf16": "bf16"}


class OpenVinoEngine(Engine):
    name = "openvino"
    thread_safe = True  # each concurrent caller has its own infer request

    def __init__(self) -> None:
        import openvino as ov

        self.ov = ov
        self.core = ov.Core()
        self.compiled: Any = None
        self.request: Any = None
        self.graph_names: set[str] = set()

    def _name(self, port: Any) -> str:
        """The port's ONNX input/output name when it carries one, else OpenVINO's any name."""
        names = sorted(n for n in port.get_names() if n in self.graph_names)
        return names[0] if names else port.get_any_name()

    def _read_graph_names(self, model_path: str) -> set[str]:
        if not model_path.lower().endswith(".onnx"):
            return set()
        try:
            import onnx

            g = onnx.load(model_path, load_external_data=False).graph
        except Exception:  # noqa: BLE001 - names then fall back to OpenVINO's own
            return set()
        return {v.name for v in g.input} | {v.name for v in g.output}

    def version(self) -> str:
        return self.ov.__version__.split("-")[0]

    def devices(self) -> list[str]:
        return [d.lower() for d in self.core.available_devices]

    def _meta(self, ports: Any) -> list[dict[str, Any]]:
        out = []
        for p in ports:
            et = p.get_element_type()
            dtype = "bool" if et.get_type_name() == "boolean" else str(et.to_dtype())
            dims: list[Any] = [d.get_length() if d.is_static else "?" for d in p.get_partial_shape()]
            out.append(tensor_meta(self._name(p), dtype, dims))
        return out

    def load(self, model_path: str, options: dict[str, Any], precision: str, shapes: dict[str, list[int]] | None) -> LoadInfo:
        o = Options("openvino", options)
        device = o.choice("device", "CPU", ["CPU", "GPU", "NPU", "AUTO"])
        threads = o.int("threads", 1)
        hint = o.choice("performanceHint", "LATENCY", ["LATENCY", "THROUGHPUT"])
        streams = o.int("streams", 0)
        o.done()
        if precision not in _HINT:
            raise Unsupported(f"openvino: precision {precision} is not supported here", "fp32|fp16|bf16 (int8 needs a model quantized with NNCF)")
        model = self.core.read_model(model_path)
        self.graph_names = self._read_graph_names(model_path)
        notes: list[str] = []
        if shapes:
            names = {self._name(p) for p in model.inputs}
            unknown = sorted(set(shapes) - names)
            if unknown:
                raise WorkerError(f"openvino: shapes name unknown inputs {unknown}", benchalign_code="E_SHAPE", expected=f"inputs {sorted(names)}")
            model.reshape({p: list(shapes[self._name(p)]) for p in model.inputs if self._name(p) in shapes})
            notes.append("reshaped inputs to " + ", ".join(f"{k}={list(v)}" for k, v in shapes.items()))
        config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": _HINT[precision], "PERFORMANCE_HINT": hint}
        if threads > 0:
            config["INFERENCE_NUM_THREADS"] = threads
        if streams > 0:
            config["NUM_STREAMS"] = streams
        self.compiled = self.core.compile_model(model, device, config)
        self.request = self.compiled.create_infer_request()
        self._model, self._device, self._config = model, device, config
        got = str(self.compiled.get_property("INFERENCE_PRECISION_HINT")).replace("<Type: '", "").replace("'>", "")
        got = {"float32": "f32", "float16": "f16", "bfloat16": "bf16"}.get(got, got)
        effective = _PRECISION_OF.get(got, got)
        if effective != precision:
            caps = ", ".join(self.core.get_property(device, "OPTIMIZATION_CAPABILITIES"))
            notes.append(
                f"asked for {precision} (INFERENCE_PRECISION_HINT={_HINT[precision]}), but {device} runs {got}: "
                f"its capabilities are {caps}"
            )
        applied = {"device": device, "threads": threads, "performanceHint": hint, "streams": streams, "INFERENCE_PRECISION_HINT": got}
        return LoadInfo(self._meta(self.compiled.inputs), self._meta(self.compiled.outputs), effective, notes, applied)

    def prepare_inputs(self, feeds: dict[str, Any]) -> Any:
        names = [self._name(p) for p in self.compiled.inputs]
        missing = [n for n in names if n not in feeds]
        if missing:
            raise WorkerError(f"openvino: no data for inputs {missing}", benchalign_code="E_SHAPE", expected=f"inputs {names}")
        return {p: feeds[self._name(p)] for p in self.compiled.inputs}

    def run(self, prepared: Any) -> Any:
        return self.request.infer(prepared)

    def callers(self, prepared: Any, n: int) -> list[Any]:
        requests = [self.request] + [self.compiled.create_infer_request() for _ in range(n - 1)]
        return [(lambda r=r: r.infer(prepared)) for r in requests]

    def to_numpy(self, raw: Any) -> dict[str, Any]:
        return {self._name(p): raw[p].copy() for p in self.compiled.outputs}

    @staticmethod
    def _original_names(compiled: Any) -> dict[str, tuple[str, list[str]]]:
        """Runtime node name -> (layer type, the ONNX node names it was made of), from the runtime
        model's rt_info (originalLayersNames): what OpenVINO fused."""
        out: dict[str, tuple[str, list[str]]] = {}
        for op in compiled.get_runtime_model().get_ordered_ops():
            info = op.get_rt_info()
            layer_type = info["layerType"].astype(str) if "layerType" in info else op.get_type_name()
            names = info["originalLayersNames"].astype(str) if "originalLayersNames" in info else ""
            out[op.get_friendly_name()] = (layer_type, [n for n in names.split(",") if n])
        return out

    def fused_layers(self) -> list[dict[str, Any]]:
        """Runtime nodes of the loaded model that OpenVINO made of several ONNX nodes."""
        skip = {"Input", "Const", "Output", "Parameter", "Constant", "Result"}
        return [
            {"name": name, "opType": t, "onnxNodes": names}
            for name, (t, names) in self._original_names(self.compiled).items()
            if t not in skip and len(names) > 1
        ]

    def profile(self, prepared: Any, iterations: int, max_ms: float, work_dir: str) -> dict[str, Any]:
        """OpenVINO's performance counters (PERF_COUNT) on a second compilation of the same model
        and configuration; per-node real time of every executed node, summed over the iterations."""

        compiled = self.core.compile_model(self._model, self._device, {**self._config, "PERF_COUNT": True})
        request = compiled.create_infer_request()
        request.infer(prepared)  # first inference allocates; not counted
        originals = self._original_names(compiled)
        layers: dict[tuple[str, str], dict[str, Any]] = {}
        optimized_out: set[str] = set()

        def read_profile() -> None:
            for info in request.get_profiling_info():
                status = str(info.status).rsplit(".", 1)[-1]
                if status != "EXECUTED":
                    if status == "OPTIMIZED_OUT":
                        optimized_out.add(info.node_name)
                    continue
                key = (info.node_name, info.node_type)
                cur = layers.setdefault(key, {"name": info.node_name, "opType": info.node_type, "timeNs": 0, "count": 0})
                if "onnxNodes" not in cur and info.node_name in originals:
                    cur["onnxNodes"] = originals[info.node_name][1]
                cur["timeNs"] += int(info.real_time.total_seconds() * 1e9)
                cur["count"] += 1

        done, wall = profiled_runs(lambda: request.infer(prepared), iterations, max_ms, read_profile)
        notes = ["node names are OpenVINO's runtime graph names; onnxNodes lists the ONNX nodes each was made of (originalLayersNames)"]
        if optimized_out:
            notes.append(f"{len(optimized_out)} node(s) optimized out (fused into others), e.g. {', '.join(sorted(optimized_out)[:5])}")
        return {"profiler": "openvino get_profiling_info (PERF_COUNT)", "iterations": done, "wallNs": wall, "layers": list(layers.values()), "notes": notes}

    def unload(self) -> None:
        self.request = None
        self.compiled = None


if __name__ == "__main__":
    serve(OpenVinoEngine)
