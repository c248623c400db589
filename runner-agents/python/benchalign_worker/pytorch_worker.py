"""The PyTorch worker: eager PyTorch as an engine, on CPU (CUDA when present).

It loads the PyTorch form of a suite model (the load request's ``pytorch`` field): a
TorchScript file (``torch.jit.load``), an ExportedProgram (``torch.export.load``, .pt2) or a
``file.py:function`` factory (the file is imported, its folder on sys.path, and ``function()``
returns the module). Without that field, a .pt2 model path is an ExportedProgram and a .pt/.pth/
.ts/.jit path a TorchScript file. Every call runs under ``torch.inference_mode()``.

Options: ``device`` (cpu|cuda, default cpu), ``threads`` (torch.set_num_threads, 0 = PyTorch's
default, default 1), ``reducedPrecision`` (autocast|cast, default autocast: how fp16/bf16 jobs
run; ``cast`` converts the module and float inputs with ``.to(dtype)``).

Precision is explicit: fp32 runs the module as it is, in float32, with TF32 off on CUDA;
fp16/bf16 run under ``torch.autocast`` (mixed: the autocast op lists run in the reduced type)
or fully cast; int8 is refused. What was applied is recorded in appliedOptions and notes.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from typing import Any

from .options import Options
from .torch_outputs import flatten_tensors
from .protocol import Engine, LoadInfo, Unsupported, WorkerError, serve, tensor_meta, profiled_runs

_TORCHSCRIPT_EXT = (".pt", ".pth", ".ts", ".jit", ".torchscript")
#: installed packages (kept imported even when they lie below a factory's folder, e.g. a venv)
_INSTALLED = re.compile(r"[/\\](site|dist)-packages[/\\]")


def _model_error(message: str, expected: str) -> WorkerError:
    return WorkerError(message, benchalign_code="E_ENGINE", expected=expected)


class PyTorchEngine(Engine):
    name = "pytorch"
    thread_safe = True  # modules in eval/inference mode may be called from several threads

    def __init__(self) -> None:
        import numpy as np
        import torch

        self.torch = torch
        self.np = np
        self.module: Any = None
        self.device = "cpu"
        self.input_names: list[str] = []
        self.output_names: list[str] | None = None
        self.autocast_dtype: Any = None
        self.cast_dtype: Any = None

    def version(self) -> str:
        return self.torch.__version__

    def devices(self) -> list[str]:
        return ["cpu", "cuda"] if self.torch.cuda.is_available() else ["cpu"]

    # -- loading -------------------------------------------------------------------------------
    def _spec(self, model_path: str) -> dict[str, Any]:
        spec = self.load_request.get("pytorch")
        if isinstance(spec, dict):
            return spec
        lower = model_path.lower()
        if lower.endswith(".pt2"):
            return {"kind": "exported", "path": model_path}
        if lower.endswith(_TORCHSCRIPT_EXT):
            return {"kind": "torchscript", "path": model_path}
        raise Unsupported(
            f"pytorch: {model_path} is not a PyTorch model and the suite model has no `pytorch` field",
            "a model entry with pytorch: {torchscript|exported|factory: ...} (docs/suites.md), or a .pt/.pt2 path",
        )

    def _load_module(self, spec: dict[str, Any]) -> tuple[Any, Any]:
        torch = self.torch
        kind, path = spec.get("kind"), spec.get("path")
        if not isinstance(path, str) or not os.path.isfile(path):
            raise _model_error(f"pytorch: {kind} file {path} does not exist", "an existing file")
        try:
            if kind == "torchscript":
                return torch.jit.load(path, map_location=self.device), None
            if kind == "exported":
                ep = torch.export.load(path)
                return ep.module(), ep
            if kind == "factory":
                return self._from_factory(path, str(spec.get("factory", ""))), None
        except WorkerError:
            raise
        except Exception as e:  # noqa: BLE001 - reported with the file
            raise _model_error(f"pytorch: cannot load {kind} {path}: {type(e).__name__}: {str(e).strip()[:1500]}", f"a {kind} model file") from e
        raise _model_error(f"pytorch: unknown model kind {kind!r}", "torchscript|exported|factory")

    def _from_factory(self, path: str, fn_name: str) -> Any:
        """Imports ``path`` with its folder first on sys.path and calls ``fn_name()``. The modules it
        imported from its folder are forgotten afterwards, so the next model's factory, in another
        folder, gets its own siblings even when their names are the same."""
        folder = os.path.dirname(os.path.abspath(path))
        before = set(sys.modules)
        sys.path.insert(0, folder)
        mod_name = "benchalign_factory_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
        try:
            spec = importlib.util.spec_from_file_location(mod_name, path)
            if spec is None or spec.loader is None:
                raise _model_error(f"pytorch: cannot import {path}", "a Python file")
            mod = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = mod
            spec.loader.exec_module(mod)
            fn = getattr(mod, fn_name, None)
            if not callable(fn):
                raise _model_error(f"pytorch: {path} has no function {fn_name!r}", f"def {fn_name}() -> torch.nn.Module in {path}")
            module = fn()
        finally:
            sys.path.remove(folder)
            for name in set(sys.modules) - before:
                file = getattr(sys.modules[name], "__file__", None) or ""
                local = os.path.abspath(file).startswith(folder + os.sep) and not _INSTALLED.search(file)
                if name == mod_name or local:
                    del sys.modules[name]
        if not callable(module):
            raise _model_error(f"pytorch: {path}:{fn_name}() returned {type(module).__name__}", "a torch.nn.Module")
        return module

    def _onnx_io(self, model_path: str) -> tuple[list[dict[str, Any]], list[str]] | None:
        if not model_path.lower().endswith(".onnx") or not os.path.isfile(model_path):
            return None
        try:
            import onnx
        except ImportError:
            return None
        try:
            proto = onnx.load(model_path, load_external_data=False)
        except Exception:  # noqa: BLE001 - names then come from the suite or the module
            return None
        init = {i.name for i in proto.graph.initializer}

        def dims(vi: Any) -> list[Any]:
            return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in vi.type.tensor_type.shape.dim]

        inputs = [
            tensor_meta(vi.name, onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type).name, dims(vi))
            for vi in proto.graph.input
            if vi.name not in init
        ]
        return inputs, [o.name for o in proto.graph.output]

    def _exported_inputs(self, ep: Any) -> list[dict[str, Any]]:
        names = list(ep.graph_signature.user_inputs)
        by_name = {n.name: n for n in ep.graph.nodes if n.op == "placeholder"}
        out = []
        for name in names:
            val = by_name[name].meta.get("val") if name in by_name else None
            if val is None or not hasattr(val, "dtype"):
                raise _model_error(f"pytorch: exported input {name!r} is not a tensor", "an ExportedProgram with tensor inputs")
            dims = [int(d) if isinstance(d, int) or str(d).isdigit() else str(d) for d in val.shape]
            out.append(tensor_meta(name, str(val.dtype).removeprefix("torch."), dims))
        return out

    def load(self, model_path: str, options: dict[str, Any], precision: str, shapes: dict[str, list[int]] | None) -> LoadInfo:
        torch = self.torch
        o = Options("pytorch", options)
        device = o.choice("device", "cpu", ["cpu", "cuda"])
        threads = o.int("threads", 1)
        mode = o.choice("reducedPrecision", "autocast", ["autocast", "cast"])
        o.done()
        if precision not in ("fp32", "fp16", "bf16"):
            raise Unsupported(f"pytorch: precision {precision} is not supported", "fp32|fp16|bf16 (int8 needs a quantized model)")
        if device == "cuda" and not torch.cuda.is_available():
            raise Unsupported("pytorch: device cuda asked, but this PyTorch sees no CUDA device "
                              f"(torch {torch.__version__}, built with CUDA {torch.version.cuda})", "a CUDA build of PyTorch and an NVIDIA GPU")
        self.device = device
        notes: list[str] = []
        applied: dict[str, Any] = {"device": device}
        if device == "cuda":
            # fp32 means fp32: no TF32 in matmul or cuDNN convolutions
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
            applied["allowTf32"] = False
        torch.set_float32_matmul_precision("highest")

        spec = self._spec(model_path)
        module, ep = self._load_module(spec)
        applied["model"] = spec.get("kind")
        applied["modelFile"] = spec.get("path")
        if spec.get("sha256"):
            applied["modelSha256"] = spec.get("sha256")
        if spec.get("kind") == "factory":
            applied["factory"] = spec.get("factory")
        # after loading: a factory may set the thread count itself
        if threads > 0:
            torch.set_num_threads(threads)
        applied["threads"] = torch.get_num_threads()
        if hasattr(module, "eval"):
            try:
                module.eval()
            except (NotImplementedError, RuntimeError):
                notes.append("module.eval() is not supported by this module (ExportedProgram modules keep their export mode)")
        if hasattr(module, "to") and spec.get("kind") != "torchscript":
            module = module.to(device)

        onnx_io = self._onnx_io(model_path)
        if isinstance(spec.get("inputs"), list) and spec["inputs"]:
            inputs = [tensor_meta(str(t["name"]), str(t.get("dtype", "float32")), list(t.get("dims", []))) for t in spec["inputs"]]
        elif onnx_io is not None:
            inputs = onnx_io[0]
            notes.append(f"input names and shapes from the ONNX model {os.path.basename(model_path)}")
        elif ep is not None:
            inputs = self._exported_inputs(ep)
        else:
            raise _model_error(
                f"pytorch: the inputs of this {spec.get('kind')} model are unknown",
                "pytorch.inputs in the suite model entry ([{name, dtype, dims}]), or an ONNX model at path",
            )
        if shapes:
            unknown = sorted(set(shapes) - {i["name"] for i in inputs})
            if unknown:
                raise WorkerError(f"pytorch: shapes name unknown inputs {unknown}", benchalign_code="E_SHAPE", expected=f"inputs {[i['name'] for i in inputs]}")
            for i in inputs:
                if i["name"] in shapes:
                    i["dims"] = list(shapes[i["name"]])
        self.input_names = [i["name"] for i in inputs]
        names = spec.get("outputs") if isinstance(spec.get("outputs"), list) else (onnx_io[1] if onnx_io else None)
        self.output_names = [str(n) for n in names] if names else None

        self.autocast_dtype = None
        self.cast_dtype = None
        effective = precision
        if precision != "fp32":
            dtype = torch.float16 if precision == "fp16" else torch.bfloat16
            if mode == "cast":
                module = module.to(dtype)
                self.cast_dtype = dtype
                notes.append(f"{precision}: module parameters and float inputs cast to {dtype} (.to), every op runs in {dtype}")
            else:
                self.autocast_dtype = dtype
                notes.append(
                    f"{precision}: torch.autocast({device}, {dtype}) — mixed precision: ops on autocast's lower-precision list "
                    f"(matmul, conv, linear) run in {dtype}, the rest in float32"
                )
            applied["reducedPrecision"] = mode
            applied["dtype"] = str(dtype).removeprefix("torch.")
        else:
            applied["dtype"] = "float32"
            stored = self._float_param_dtypes(module) - {torch.float32}
            if stored:
                module = module.float()
                names = ", ".join(sorted(str(d).removeprefix("torch.") for d in stored))
                notes.append(f"fp32: the module holds {names} parameters; converted to float32 (.float()) for the fp32 job")
        self.module = module
        reconciliation: dict[str, dict[str, Any]] = {}
        for i, n in enumerate(self.output_names or []):
            steps = ["cast bfloat16 to float32 (NumPy has no bfloat16)"] if precision == "bf16" else []
            reconciliation[n] = {"engineName": f"output[{i}]", "layout": steps}
        outputs = [tensor_meta(n, "?", []) for n in (self.output_names or [])]
        return LoadInfo(inputs, outputs, effective, notes, applied, reconciliation)

    def _float_param_dtypes(self, module: Any) -> set[Any]:
        try:
            tensors = list(module.parameters()) + list(module.buffers())
        except Exception:  # noqa: BLE001 - a callable without parameters
            return set()
        return {t.dtype for t in tensors if t.is_floating_point()}

    # -- running -------------------------------------------------------------------------------
    def prepare_inputs(self, feeds: dict[str, Any]) -> Any:
        torch = self.torch
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise WorkerError(f"pytorch: no data for inputs {missing}", benchalign_code="E_SHAPE", expected=f"inputs {self.input_names}")
        out = []
        for n in self.input_names:
            t = torch.from_numpy(self.np.ascontiguousarray(feeds[n])).to(self.device)
            if self.cast_dtype is not None and t.is_floating_point():
                t = t.to(self.cast_dtype)
            out.append(t)
        if self.device == "cuda":
            torch.cuda.synchronize()  # the copies are done before the first timed call
        return tuple(out)

    def run(self, prepared: Any) -> Any:
        torch = self.torch
        with torch.inference_mode():
            if self.autocast_dtype is not None:
                with torch.autocast(self.device, dtype=self.autocast_dtype):
                    out = self.module(*prepared)
            else:
                out = self.module(*prepared)
        if self.device == "cuda":
            torch.cuda.synchronize()
        return out

    def _flatten(self, raw: Any) -> list[tuple[str | None, Any]]:
        try:
            return flatten_tensors(raw, self.torch.Tensor)
        except TypeError as e:
            raise WorkerError(f"pytorch: the module returned {e}", benchalign_code="E_ENGINE", expected="a tensor, or a tuple/list/dict of tensors") from None

    def to_numpy(self, raw: Any) -> dict[str, Any]:
        torch = self.torch
        flat = self._flatten(raw)
        names = self.output_names
        if names is not None and len(names) != len(flat):
            raise WorkerError(
                f"pytorch: the module returned {len(flat)} tensors, the model names {len(names)} outputs {names}",
                benchalign_code="E_SHAPE",
                expected="pytorch.outputs (or the ONNX model's outputs) to match what forward() returns",
            )
        result: dict[str, Any] = {}
        for i, (key, t) in enumerate(flat):
            name = names[i] if names is not None else (key or f"output_{i}")
            t = t.detach()
            if t.device.type != "cpu":
                t = t.cpu()
            if t.dtype == torch.bfloat16:
                t = t.float()
            result[name] = t.contiguous().numpy()
        return result

    def profile(self, prepared: Any, iterations: int, max_ms: float, work_dir: str) -> dict[str, Any]:
        """torch.profiler over the iterations: self time of each operator (aten::conv2d, ...), so
        nested operators are not counted twice."""

        from torch.profiler import ProfilerActivity, profile

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.device == "cuda" else [])
        self.run(prepared)
        with profile(activities=activities) as prof:
            done, wall = profiled_runs(lambda: self.run(prepared), iterations, max_ms)
        layers = []
        for e in prof.key_averages():
            self_us = e.self_device_time_total if self.device == "cuda" and getattr(e, "self_device_time_total", 0) else e.self_cpu_time_total
            if self_us <= 0:
                continue
            layers.append({"name": e.key, "opType": e.key, "timeNs": int(self_us * 1000), "count": int(e.count)})
        notes = ["PyTorch operators (self time), not modules: one row per operator type"]
        return {"profiler": "torch.profiler", "iterations": done, "wallNs": wall, "layers": layers, "notes": notes}

    def unload(self) -> None:
        self.module = None
        if self.device == "cuda":
            self.torch.cuda.empty_cache()


if __name__ == "__main__":
    serve(PyTorchEngine)
