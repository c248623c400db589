"""The OpenCV-DNN worker: pip ``opencv-python-headless``, ``cv2.dnn.readNetFromONNX`` on the
suite's ONNX model, with the backend and target set explicitly.

Options: ``threads`` (cv2.setNumThreads, default 1), ``backend`` (opencv|openvino, default
opencv: DNN_BACKEND_OPENCV, or DNN_BACKEND_INFERENCE_ENGINE where this OpenCV was built with
OpenVINO), ``engine`` (opencv|auto, default opencv: readNetFromONNX's ENGINE_OPENCV, OpenCV 5's
graph engine; ``auto`` is OpenCV's own choice).

Precision: fp32 asks for DNN_TARGET_CPU, fp16 for DNN_TARGET_CPU_FP16. OpenCV 5's graph engine
takes no target ("Targets are not supported by the new graph engine"): it computes in fp32
whatever was asked, and a fp16 job says so (effective precision fp32, with a note). int8 needs
a quantized ONNX model and is refused.

Inputs and outputs: names, dtypes and dims come from the ONNX graph (OpenCV does not report
them); every output is fetched by name in one ``forward(names)``. A layer OpenCV cannot import
or run is a per-job error that names the layer and OpenCV's message.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator

from .onnx_io import onnx_io
from .options import Options
from .protocol import Engine, LoadInfo, Unsupported, WorkerError, serve, tensor_meta, profiled_runs

_LAYER = re.compile(r"(?:node|layer)\s*(?:\[|\()?\s*['\"]?([^'\"\]\)\s,:]+)", re.IGNORECASE)
_TYPE = re.compile(r"(?:type|op(?:_type)?)\s*[=:]?\s*['\"]?([A-Za-z][A-Za-z0-9_]*)", re.IGNORECASE)


def _layer_error(e: Exception, model_path: str, when: str) -> WorkerError:
    """OpenCV's error as a per-job E_UNSUPPORTED naming the layer (and op type) its message names."""
    msg = " ".join(str(e).split())
    layer = _LAYER.search(msg)
    op = _TYPE.search(msg)
    named = []
    if op:
        named.append(f"op {op.group(1)}")
    if layer:
        named.append(f"layer {layer.group(1)}")
    where = f" ({', '.join(named)})" if named else ""
    return WorkerError(
        f"opencv: cannot {when} {model_path}{where}: {msg[-1500:]}",
        benchalign_code="E_UNSUPPORTED",
        expected="an ONNX model whose layers OpenCV-DNN supports",
    )


@contextmanager
def _stderr_log(into: list[str]) -> Iterator[None]:
    """Copies what C code writes to fd 2 meanwhile (OpenCV's importer logs the operations it
    cannot load there, and returns an empty net) into ``into``, and still writes it to stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read(1 << 20).decode("utf-8", "replace")
            into.append(text)
            sys.stderr.write(text)


def _unsupported_ops(log: str) -> list[str]:
    """The operations OpenCV's ONNX importer lists after "Unsupported operations:"."""
    m = re.search(r"Unsupported operations:\s*((?:\s*[A-Za-z][\w.]*\s*(?:\n|$))+)", log)
    return m.group(1).split() if m else []


class OpenCvEngine(Engine):
    name = "opencv"
    thread_safe = False  # a cv2.dnn.Net serves one caller at a time

    def __init__(self) -> None:
        import cv2
        import numpy as np

        self.cv2 = cv2
        self.np = np
        self.net: Any = None
        self.input_meta: list[dict[str, Any]] = []
        self.output_names: list[str] = []
        self.backend = "opencv"

    def version(self) -> str:
        return str(self.cv2.__version__)

    def load(self, model_path: str, options: dict[str, Any], precision: str, shapes: dict[str, list[int]] | None) -> LoadInfo:
        cv2, dnn = self.cv2, self.cv2.dnn
        o = Options("opencv", options)
        threads = o.int("threads", 1, minimum=1)
        backend = o.choice("backend", "opencv", ["opencv", "openvino"])
        engine = o.choice("engine", "opencv", ["opencv", "auto"])
        o.done()
        if precision not in ("fp32", "fp16"):
            raise Unsupported(f"opencv: precision {precision} is not supported here", "fp32|fp16 (int8 needs a quantized ONNX model)")
        if not model_path.lower().endswith(".onnx"):
            raise Unsupported(f"opencv: {model_path} is not an ONNX model", "an .onnx file (readNetFromONNX)")
        backend_id = dnn.DNN_BACKEND_OPENCV if backend == "opencv" else dnn.DNN_BACKEND_INFERENCE_ENGINE
        target_id = dnn.DNN_TARGET_CPU if precision == "fp32" else dnn.DNN_TARGET_CPU_FP16
        targets = list(dnn.getAvailableTargets(backend_id))
        if backend == "openvino" and not targets:
            raise Unsupported(
                "opencv: backend openvino (DNN_BACKEND_INFERENCE_ENGINE) is not available in this OpenCV build",
                "backend: opencv, or an OpenCV built with OpenVINO",
            )
        self.input_meta, outputs = onnx_io(model_path, "opencv")
        cv2.setNumThreads(threads)
        log: list[str] = []
        try:
            with _stderr_log(log):
                self.net = dnn.readNetFromONNX(model_path, dnn.ENGINE_OPENCV if engine == "opencv" else dnn.ENGINE_AUTO)
        except cv2.error as e:
            raise _layer_error(e, model_path, "import") from e
        if self.net.empty():
            ops = _unsupported_ops("".join(log))
            if ops:
                raise WorkerError(
                    f"opencv: cannot load {model_path}: OpenCV-DNN {cv2.__version__} does not support the operation(s) {', '.join(ops)}",
                    benchalign_code="E_UNSUPPORTED",
                    expected="an ONNX model whose operations OpenCV-DNN supports",
                )
            tail = " ".join("".join(log).split())[-800:]
            raise WorkerError(f"opencv: readNetFromONNX returned an empty net for {model_path}: {tail}", benchalign_code="E_ENGINE", expected="an ONNX model OpenCV-DNN reads")
        self.net.setPreferableBackend(backend_id)
        self.backend = backend
        self.net.setPreferableTarget(target_id)
        notes: list[str] = []
        names = [str(n) for n in self.net.getUnconnectedOutLayersNames()]
        declared = [m["name"] for m in outputs]
        # fetch the model's outputs by their ONNX names (OpenCV 5 keeps them); a net that
        # renamed them is matched by position
        self.output_names = declared if set(declared) <= set(names) or len(names) != len(declared) else names
        reconciliation: dict[str, dict[str, Any]] = {}
        if self.output_names != declared:
            for d, n in zip(declared, names):
                if d != n:
                    reconciliation[d] = {"engineName": n, "layout": []}
        if shapes:
            known = {m["name"] for m in self.input_meta}
            unknown = sorted(set(shapes) - known)
            if unknown:
                raise WorkerError(f"opencv: shapes name unknown inputs {unknown}", benchalign_code="E_SHAPE", expected=f"inputs {sorted(known)}")
            for m in self.input_meta:
                if m["name"] in shapes:
                    m["dims"] = list(shapes[m["name"]])
            notes.append("OpenCV-DNN takes the input shapes from the blobs it is given (" + ", ".join(f"{k}={list(v)}" for k, v in shapes.items()) + ")")
        graph_engine = engine == "opencv" or int(cv2.__version__.split(".")[0]) >= 5
        effective = precision
        target_name = "DNN_TARGET_CPU" if precision == "fp32" else "DNN_TARGET_CPU_FP16"
        if precision == "fp16" and (graph_engine or target_id not in targets):
            effective = "fp32"
            notes.append(
                f"asked for fp16 (DNN_TARGET_CPU_FP16), but OpenCV {cv2.__version__}'s graph engine takes no target: it computes in fp32"
            )
        applied = {
            "threads": cv2.getNumThreads(),
            "backend": "DNN_BACKEND_OPENCV" if backend == "opencv" else "DNN_BACKEND_INFERENCE_ENGINE",
            "target": target_name,
            "engine": "ENGINE_OPENCV" if engine == "opencv" else "ENGINE_AUTO",
        }
        self._outputs_meta = [tensor_meta(m["name"], m["dtype"], m["dims"]) for m in outputs]
        return LoadInfo([tensor_meta(m["name"], m["dtype"], m["dims"]) for m in self.input_meta], self._outputs_meta, effective, notes, applied, reconciliation)

    def prepare_inputs(self, feeds: dict[str, Any]) -> Any:
        names = [m["name"] for m in self.input_meta]
        missing = [n for n in names if n not in feeds]
        if missing:
            raise WorkerError(f"opencv: no data for inputs {missing}", benchalign_code="E_SHAPE", expected=f"inputs {names}")
        prepared = {n: self.np.ascontiguousarray(feeds[n]) for n in names}
        for n, a in prepared.items():
            self.net.setInput(a, n)
        return prepared

    def run(self, prepared: Any) -> Any:
        # the inputs stay set on the net between calls (setInput copies them in prepare_inputs)
        try:
            return self.net.forward(self.output_names)
        except self.cv2.error as e:
            raise _layer_error(e, "the model", "run") from e

    def to_numpy(self, raw: Any) -> dict[str, Any]:
        if len(raw) != len(self.output_names):
            raise WorkerError(f"opencv: forward returned {len(raw)} outputs", benchalign_code="E_ENGINE", expected=f"{len(self.output_names)} outputs {self.output_names}")
        out: dict[str, Any] = {}
        for meta, arr in zip(self._outputs_meta, raw):
            out[meta["name"]] = self.np.array(arr, copy=True)
        return out

    def profile(self, prepared: Any, iterations: int, max_ms: float, work_dir: str) -> dict[str, Any]:
        """OpenCV-DNN's own per-layer timings (Net.getPerfProfile, ticks per layer id of the last
        forward; OpenCV times every forward whether asked or not) on the loaded net, summed over
        the iterations. Layers are named after the ONNX nodes they came from; a layer OpenCV
        fused into another keeps its id with zero ticks."""

        cv2 = self.cv2
        if self.backend != "opencv":
            raise Unsupported(
                f"opencv: per-layer timings (getPerfProfile) come from DNN_BACKEND_OPENCV only; this job runs backend {self.backend}",
                "backend: opencv",
            )
        freq = cv2.getTickFrequency()
        mode = self.net.getProfilingMode() if hasattr(self.net, "getProfilingMode") else None
        if mode is not None:
            self.net.setProfilingMode(cv2.dnn.DNN_PROFILE_DETAILED)
        try:
            self.run(prepared)  # after a mode change, one forward before counting
            names = [str(n) for n in self.net.getLayerNames()]
            types = {n: str(self.net.getLayer(n).type) for n in names}
            ticks = [0.0] * len(names)
            counts = [0] * len(names)

            def read_profile() -> None:
                _total, timings = self.net.getPerfProfile()
                flat = [float(t) for t in self.np.asarray(timings).ravel()]
                if len(flat) != len(names):
                    raise WorkerError(
                        f"opencv: getPerfProfile gave {len(flat)} layer timings for a net of {len(names)} layers",
                        benchalign_code="E_ENGINE",
                        expected="one timing per layer (getLayerNames)",
                    )
                for i, t in enumerate(flat):
                    if t > 0:
                        ticks[i] += t
                        counts[i] += 1

            done, wall = profiled_runs(lambda: self.run(prepared), iterations, max_ms, read_profile)
        finally:
            if mode is not None:
                self.net.setProfilingMode(mode)
        layers = [
            {"name": n, "opType": types[n], "timeNs": int(round(ticks[i] / freq * 1e9)), "count": counts[i]}
            for i, n in enumerate(names)
            if counts[i] > 0
        ]
        notes = [
            "OpenCV-DNN's per-layer timings (Net.getPerfProfile); layers are named after the ONNX node they came from "
            "(a fused layer keeps one of its nodes' names: the Conv for conv+bn+relu, the Add for MatMul+Add)"
        ]
        idle = [n for i, n in enumerate(names) if counts[i] == 0]
        if idle:
            notes.append(f"{len(idle)} layer(s) with no time of their own (fused into others), e.g. {', '.join(idle[:5])}")
        return {"profiler": "opencv Net.getPerfProfile", "iterations": done, "wallNs": wall, "layers": layers, "notes": notes}

    def unload(self) -> None:
        self.net = None


if __name__ == "__main__":
    serve(OpenCvEngine)
