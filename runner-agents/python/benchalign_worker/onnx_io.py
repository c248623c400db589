"""The declared inputs and outputs of an ONNX model (names, dtypes, dims), for workers whose
engine does not report them itself (OpenCV-DNN). Reads the graph only: external tensor data
is not loaded, nothing in the file is executed."""

from __future__ import annotations

from typing import Any

from .protocol import WorkerError


def onnx_io(model_path: str, engine: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """([{name, dtype, dims}] of the graph inputs that are not initializers, [...] of the outputs)."""
    import onnx
    from onnx import helper

    try:
        model = onnx.load(model_path, load_external_data=False)
    except Exception as e:  # noqa: BLE001 - reported with the file
        raise WorkerError(f"{engine}: cannot read {model_path} as ONNX: {type(e).__name__}: {str(e)[:300]}", benchalign_code="E_ENGINE", expected="an ONNX model file") from e
    inits = {i.name for i in model.graph.initializer}

    def meta(v: Any) -> dict[str, Any]:
        t = v.type.tensor_type
        try:
            dtype = str(helper.tensor_dtype_to_np_dtype(t.elem_type))
        except Exception:  # noqa: BLE001 - an element type NumPy lacks
            dtype = f"onnx:{t.elem_type}"
        dims: list[Any] = []
        if t.HasField("shape"):
            for d in t.shape.dim:
                dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?"))
        return {"name": v.name, "dtype": "bool" if dtype == "bool" else dtype, "dims": dims}

    inputs = [meta(v) for v in model.graph.input if v.name not in inits]
    outputs = [meta(v) for v in model.graph.output]
    return inputs, outputs
