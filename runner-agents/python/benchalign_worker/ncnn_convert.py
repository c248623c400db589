"""Converts an ONNX model for ncnn with pip pnnx, and records how its names and shapes map.

Run by the ncnn runner (src/runners/ncnn/runner.ts) inside the conversion cache:

    python -m benchalign_worker.ncnn_convert --version
    python -m benchalign_worker.ncnn_convert MODEL.onnx OUT_DIR --fp16 0|1 [--shapes JSON]

It reads the ONNX graph's inputs and outputs (a protobuf parse; nothing in the file is run),
fixes each input's shape (``--shapes`` by input name, else the graph's static dims), runs
pnnx (``fp16=0`` keeps fp32 weights) in OUT_DIR, and checks what pnnx wrote against the graph:
pnnx names the ncnn blobs ``in0, in1, ...`` and ``out0, out1, ...`` in graph order, so the
count and the shape of every blob (from ``model.pnnx.param``) must match the ONNX input or
output of the same position. The mapping is written to ``benchalign-ncnn.json`` next to
``model.ncnn.param`` for the worker (ncnn_worker.py).

ncnn Mats have no batch dimension: the leading dim of every input is the batch, which the
worker removes before feeding ncnn and adds back to the outputs. A batch of N > 1 is converted
for batch 1 and run by the worker item by item (emulated batching, ``batch`` in the mapping),
unless the graph works across the items of a batch (:func:`batch_mixing_ops`), which is refused.

Exit status 0 on success; otherwise 2 (the model or its shapes are unusable, said on stderr)
or 3 (pnnx failed; its own output precedes the message).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from typing import Any

#: Bumped whenever the files this script writes change meaning (part of the cache key).
SIDECAR_FORMAT = 3
SIDECAR = "benchalign-ncnn.json"

# ONNX TensorProto element types -> (numpy dtype name, pnnx inputshape suffix)
_ONNX_TYPES: dict[int, tuple[str, str]] = {
    1: ("float32", "f32"),
    10: ("float16", "f16"),
    11: ("float64", "f64"),
    6: ("int32", "i32"),
    7: ("int64", "i64"),
}
_PNNX_DTYPES = {"f32": "float32", "f16": "float16", "f64": "float64", "i32": "int32", "i64": "int64", "i16": "int16", "i8": "int8", "u8": "uint8", "bool": "bool"}


class ConvertError(Exception):
    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def _sha256(path: str) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pnnx_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("pnnx")


def _dims(value_info: Any) -> list[int | str]:
    out: list[int | str] = []
    for d in value_info.type.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(int(d.dim_value))
        else:
            out.append(d.dim_param or "?")
    return out


def external_files(model: Any, model_path: str) -> list[str]:
    """Files that hold the model's external tensor data, relative to the model's folder."""
    files: set[str] = set()
    for t in model.graph.initializer:
        if t.data_location != 1:  # TensorProto.EXTERNAL
            continue
        loc = next((e.value for e in t.external_data if e.key == "location"), "")
        norm = os.path.normpath(loc)
        if not loc or os.path.isabs(loc) or norm.startswith(".."):
            raise ConvertError(f"{model_path}: tensor {t.name!r} has external data at {loc!r}; expected a file inside the model's folder")
        files.add(norm)
    return sorted(files)


def read_graph(model_path: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """The graph's real inputs (initializers excluded) and outputs (name, dtype, dims), and its external data files."""
    import onnx

    try:
        model = onnx.load(model_path, load_external_data=False)
    except Exception as e:  # noqa: BLE001 - any parse failure is the same answer
        raise ConvertError(f"cannot read ONNX model {model_path}: {type(e).__name__}: {e}") from e
    if not model.graph.node and not model.graph.output:
        raise ConvertError(f"cannot read ONNX model {model_path}: the file holds no graph (not an ONNX model?)")
    inits = {i.name for i in model.graph.initializer}
    ios: list[list[dict[str, Any]]] = [[], []]
    for k, values in enumerate((model.graph.input, model.graph.output)):
        for v in values:
            if k == 0 and v.name in inits:
                continue
            elem = v.type.tensor_type.elem_type
            if elem not in _ONNX_TYPES:
                what = "input" if k == 0 else "output"
                raise ConvertError(
                    f"{model_path}: {what} {v.name!r} has ONNX element type {elem}; the ncnn runner takes "
                    f"float32|float16|float64|int32|int64 tensors"
                )
            ios[k].append({"name": v.name, "dtype": _ONNX_TYPES[elem][0], "pnnx": _ONNX_TYPES[elem][1], "dims": _dims(v)})
    if not ios[0] or not ios[1]:
        raise ConvertError(f"{model_path}: the graph has {len(ios[0])} input(s) and {len(ios[1])} output(s); ncnn needs at least one of each")
    return ios[0], ios[1], external_files(model, model_path)


def input_shapes(model_path: str, inputs: list[dict[str, Any]], shapes: dict[str, list[int]]) -> None:
    """Sets ``shape`` on every input: from ``shapes``, else its static dims. Batch must be 1."""
    names = [i["name"] for i in inputs]
    unknown = sorted(set(shapes) - set(names))
    if unknown:
        raise ConvertError(f"{model_path}: shapes name unknown inputs {unknown}; the model's inputs are {names}")
    for i in inputs:
        dims = i["dims"]
        shape = shapes.get(i["name"])
        if shape is None:
            if any(not isinstance(d, int) or d <= 0 for d in dims):
                raise ConvertError(
                    f"{model_path}: input {i['name']!r} has dynamic dims {dims}; pnnx converts for fixed shapes: "
                    f"pin them in the suite (shapes: {{{i['name']}: [1, ...]}})"
                )
            shape = list(dims)
        if len(shape) != len(dims) or any(isinstance(d, int) and d > 0 and d != s for d, s in zip(dims, shape)):
            raise ConvertError(f"{model_path}: shape {shape} for input {i['name']!r} does not fit its dims {dims}")
        if len(shape) < 2 or len(shape) > 5:
            raise ConvertError(
                f"{model_path}: input {i['name']!r} has rank {len(shape)} ({shape}); ncnn takes a batch dim plus 1 to 4 dims"
            )
        # ncnn Mats have no batch dimension: a batch of N is converted for batch 1 and run item by
        # item by the worker (emulated batching), where the graph keeps the items apart
        i["batch"] = int(shape[0])
        i["shape"] = [1] + [int(s) for s in shape[1:]]
    batches = sorted({i["batch"] for i in inputs})
    if len(batches) > 1:
        raise ConvertError(f"{model_path}: the inputs have different batch sizes {batches}; emulated batching runs one batch size for every input")


#: ops whose attribute `axis` (or `axes`) names the dimension they work along
_AXIS_OPS = {
    "Concat", "Split", "Gather", "GatherElements", "Softmax", "LogSoftmax", "Hardmax", "ArgMax", "ArgMin", "TopK",
    "CumSum", "Flatten", "Squeeze", "Unsqueeze", "Slice", "ScatterElements", "LRN",
}
_REDUCE_OPS = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}


def batch_mixing_ops(model_path: str) -> list[str]:
    """The nodes of the ONNX graph that work across the batch dim (dim 0), so items of a batch
    would mix and running them one at a time would give other results: a Transpose that moves
    dim 0, ops along axis 0, reductions over every axis, a constant Reshape whose first dim is
    neither 0 (copy) nor -1 with more dims after it. Axes given as tensors other than constants,
    and negative axes, are not checked (the alignment against the reference still is)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(model_path, load_external_data=False)
    consts: dict[str, list[int]] = {}
    for t in model.graph.initializer:
        if t.data_type in (6, 7) and len(t.dims) <= 1 and not t.external_data:
            consts[t.name] = [int(v) for v in numpy_helper.to_array(t).reshape(-1)]
    for n in model.graph.node:
        if n.op_type == "Constant" and n.output:
            for a in n.attribute:
                if a.name == "value" and a.t.data_type in (6, 7) and len(a.t.dims) <= 1:
                    consts[n.output[0]] = [int(v) for v in numpy_helper.to_array(a.t).reshape(-1)]
    # tensors computed from constants and shapes only (shape arithmetic, embedding tables): an op
    # on them does not touch the items of a batch
    static = set(consts) | {t.name for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type in ("Constant", "Shape", "Size") or (n.input and all(i in static or i == "" for i in n.input)):
            static.update(n.output)
    found: list[str] = []

    def attr(n: Any, name: str) -> Any:
        for a in n.attribute:
            if a.name == name:
                return onnx.helper.get_attribute_value(a)
        return None

    for n in model.graph.node:
        label = f"{n.op_type} {n.name or (n.output[0] if n.output else '?')}"
        if not n.input or n.input[0] in static:
            continue
        if n.op_type == "Transpose":
            perm = attr(n, "perm")
            if perm is not None and list(perm)[0] != 0:
                found.append(f"{label} (perm {list(perm)} moves dim 0)")
        elif n.op_type == "Reshape" and len(n.input) > 1 and n.input[1] in consts:
            shape = consts[n.input[1]]
            if not shape or not (shape[0] == 0 or (shape[0] == -1 and len(shape) > 1 and -1 not in shape[1:])):
                found.append(f"{label} (target shape {shape} does not keep dim 0)")
        elif n.op_type in _AXIS_OPS or n.op_type in _REDUCE_OPS:
            axes = attr(n, "axes")
            if axes is None and n.op_type in ("Squeeze", "Unsqueeze", "Slice") or n.op_type in _REDUCE_OPS:
                idx = 3 if n.op_type == "Slice" else 1
                if len(n.input) > idx and n.input[idx] in consts:
                    axes = consts[n.input[idx]]
            axis = attr(n, "axis")
            if axes is None and axis is None:
                if n.op_type in _REDUCE_OPS and not attr(n, "noop_with_empty_axes") and len(n.input) < 2:
                    found.append(f"{label} (reduces over every axis)")
                elif n.op_type in ("Concat", "Gather", "Split", "GatherElements", "CumSum", "ScatterElements", "Slice"):
                    if n.op_type in ("Concat", "Gather", "Split", "GatherElements", "ScatterElements"):
                        found.append(f"{label} (along axis 0, its default)")
                continue
            along = list(axes) if axes is not None else [axis]
            if 0 in along:
                found.append(f"{label} (along axis 0)")
    return found


_PNNX_IO = re.compile(r"^(pnnx\.Input|pnnx\.Output)\s+(\S+)\s+(\d+)\s+(\d+)\s+(.*)$")
_SHAPE = re.compile(r"#[^=\s]+=\(([^)]*)\)(\w+)")


def pnnx_io(param_path: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """pnnx.Input / pnnx.Output operators of a pnnx.param in file order: name, shape, dtype."""
    ins: list[dict[str, Any]] = []
    outs: list[dict[str, Any]] = []
    with open(param_path, encoding="utf-8") as f:
        for line in f:
            m = _PNNX_IO.match(line.strip())
            if not m:
                continue
            s = _SHAPE.search(m.group(5))
            shape = [int(x) if x.strip().lstrip("-").isdigit() else "?" for x in s.group(1).split(",") if x.strip()] if s else None
            entry = {"op": m.group(2), "shape": shape, "dtype": _PNNX_DTYPES.get(s.group(2), s.group(2)) if s else None}
            (ins if m.group(1) == "pnnx.Input" else outs).append(entry)
    return ins, outs


def ncnn_blobs(param_path: str) -> tuple[set[str], set[str]]:
    """(top blobs of Input layers, every blob) of an ncnn .param file."""
    inputs: set[str] = set()
    blobs: set[str] = set()
    with open(param_path, encoding="utf-8") as f:
        if f.readline().strip() != "7767517":
            raise ConvertError(f"{param_path}: not an ncnn param file (magic 7767517 missing)", 3)
        f.readline()
        for line in f:
            parts = line.split()
            if len(parts) < 4:
                continue
            n_in, n_out = int(parts[2]), int(parts[3])
            tops = parts[4 + n_in : 4 + n_in + n_out]
            blobs.update(parts[4 : 4 + n_in + n_out])
            if parts[0] == "Input":
                inputs.update(tops)
    return inputs, blobs


def _compatible(onnx_dims: list[Any], shape: list[Any] | None) -> bool:
    if shape is None or len(onnx_dims) != len(shape):
        return False
    return all(not isinstance(d, int) or d <= 0 or d == s for d, s in zip(onnx_dims, shape))


def check_mapping(inputs: list[dict[str, Any]], outputs: list[dict[str, Any]], out_dir: str) -> list[str]:
    """Checks pnnx's in/out blobs against the graph by position; returns notes on what shapes cannot tell apart."""
    p_in, p_out = pnnx_io(os.path.join(out_dir, "model.pnnx.param"))
    n_in, n_blobs = ncnn_blobs(os.path.join(out_dir, "model.ncnn.param"))
    if len(p_in) != len(inputs) or len(p_out) != len(outputs):
        raise ConvertError(
            f"pnnx wrote {len(p_in)} input(s) and {len(p_out)} output(s), but the ONNX graph has {len(inputs)} and {len(outputs)}; "
            "cannot map the ncnn blobs to the model's names",
            3,
        )
    notes: list[str] = []
    for k, i in enumerate(inputs):
        blob = f"in{k}"
        if blob not in n_in:
            raise ConvertError(f"model.ncnn.param has no Input blob {blob} for ONNX input {i['name']!r}", 3)
        if p_in[k]["shape"] != i["shape"] or p_in[k]["dtype"] not in (None, i["dtype"]):
            raise ConvertError(
                f"pnnx input {k} is {p_in[k]['dtype']} {p_in[k]['shape']}, but ONNX input {k} ({i['name']!r}) is {i['dtype']} {i['shape']}: "
                "the order pnnx wrote does not match the graph",
                3,
            )
        i["blob"] = blob
    for k, o in enumerate(outputs):
        blob = f"out{k}"
        if blob not in n_blobs:
            raise ConvertError(f"model.ncnn.param has no blob {blob} for ONNX output {o['name']!r}", 3)
        shape = p_out[k]["shape"]
        if not _compatible(o["dims"], shape) or p_out[k]["dtype"] not in (None, o["dtype"]):
            raise ConvertError(
                f"pnnx output {k} is {p_out[k]['dtype']} {shape}, but ONNX output {k} ({o['name']!r}) is {o['dtype']} {o['dims']}: "
                "the order pnnx wrote does not match the graph",
                3,
            )
        o["blob"] = blob
        o["shape"] = shape
    for group, what in ((inputs, "inputs"), (outputs, "outputs")):
        seen: dict[str, list[str]] = {}
        for t in group:
            seen.setdefault(json.dumps([t["shape"], t["dtype"]]), []).append(t["name"])
        for names in seen.values():
            if len(names) > 1:
                notes.append(f"{what} {', '.join(names)} have the same shape: their blob order is pnnx's graph order, not checked by shape")
    return notes


#: ncnn layers that pass their input's values through unchanged (only the shape or the blob count changes)
_PASS_THROUGH = {"Reshape", "Permute", "Split", "Flatten", "ExpandDims", "Squeeze", "Noop"}
_FLOAT_DTYPES = {"torch.float", "torch.float32"}


def _ncnn_layers(param_path: str) -> tuple[list[str], list[list[str]]]:
    """(the two header lines, each layer line split on whitespace) of an ncnn .param file."""
    with open(param_path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    return lines[:2], [ln.split() for ln in lines[2:] if ln.strip()]


def _pnnx_cast_dtypes(pnnx_param: str) -> dict[str, str]:
    """Layer name -> target dtype of every Tensor.to operator of a pnnx.param."""
    out: dict[str, str] = {}
    with open(pnnx_param, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 1 and parts[0] == "Tensor.to":
                m = re.search(r"\bdtype=(\S+)", line)
                out[parts[1]] = m.group(1) if m else "?"
    return out


def fold_input_casts(out_dir: str, inputs: list[dict[str, Any]]) -> list[str]:
    """An integer input whose every use, through pass-through layers, is a cast to float32 (pnnx's
    ``Tensor.to``, for which ncnn has no layer: its Cast converts between float types only) is fed
    to ncnn as float32 instead, and those casts become ``Noop`` layers. Sets ``feed`` on the
    input; returns notes saying what changed. Nothing else is touched."""
    param = os.path.join(out_dir, "model.ncnn.param")
    header, layers = _ncnn_layers(param)
    casts = _pnnx_cast_dtypes(os.path.join(out_dir, "model.pnnx.param"))
    consumers: dict[str, list[list[str]]] = {}
    for parts in layers:
        n_in = int(parts[2])
        for b in parts[4 : 4 + n_in]:
            consumers.setdefault(b, []).append(parts)
    notes: list[str] = []
    for i in inputs:
        if not i["dtype"].startswith("int") or "blob" not in i:
            continue
        found: list[list[str]] = []
        ok = True
        todo = [i["blob"]]
        while todo and ok:
            for layer in consumers.get(todo.pop(), []):
                if layer[0] == "Tensor.to" and casts.get(layer[1]) in _FLOAT_DTYPES:
                    found.append(layer)
                elif layer[0] in _PASS_THROUGH:
                    n_in, n_out = int(layer[2]), int(layer[3])
                    todo.extend(layer[4 + n_in : 4 + n_in + n_out])
                else:
                    ok = False
                    break
        if not ok or not found:
            continue
        for layer in found:
            layer[0] = "Noop"
        i["feed"] = "float32"
        names = ", ".join(layer[1] for layer in found)
        notes.append(
            f"input {i['name']} ({i['dtype']}) is used only through casts to float32 ({names}; ncnn has no integer-to-float Cast): "
            "fed to ncnn as float32, the casts replaced by Noop"
        )
    if notes:
        with open(param, "w", encoding="utf-8") as f:
            f.write("\n".join(header + [" ".join(p) for p in layers]) + "\n")
    return notes


def fix_tanh_gelu(model_path: str, out_dir: str) -> list[str]:
    """pnnx 20261020 fuses the tanh form of GELU (``0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))``,
    GPT-2's) into ``F.gelu`` without ``approximate='tanh'``, and so into ncnn's exact erf GELU:
    about 5e-4 off per activation. When the ONNX graph has no Erf at all and at least as many Tanh
    nodes as the ncnn model has GELU layers, every GELU came from the tanh form: they get ncnn's
    ``0=1`` (fast_gelu, the same tanh formula). Returns notes saying so."""
    import onnx

    graph = onnx.load(model_path, load_external_data=False).graph
    ops = [n.op_type for n in graph.node]
    param = os.path.join(out_dir, "model.ncnn.param")
    header, layers = _ncnn_layers(param)
    gelus = [p for p in layers if p[0] == "GELU" and not any(a.startswith("0=") for a in p[4 + int(p[2]) + int(p[3]) :])]
    if not gelus or "Erf" in ops or ops.count("Tanh") < len(gelus):
        return []
    for p in gelus:
        p.append("0=1")
    with open(param, "w", encoding="utf-8") as f:
        f.write("\n".join(header + [" ".join(p) for p in layers]) + "\n")
    return [
        f"{len(gelus)} GELU layer(s) set to ncnn's tanh form (0=1): the ONNX graph computes GELU with Tanh (no Erf), "
        "which pnnx fuses into the exact erf GELU"
    ]


def unsupported_layers(param_path: str) -> list[str]:
    """Operators pnnx left in model.ncnn.param with no ncnn layer (named like ``torch.where`` or
    ``Tensor.to``: ncnn's own layer names are plain words), one entry per type with its layers."""
    _, layers = _ncnn_layers(param_path)
    by_type: dict[str, list[str]] = {}
    for p in layers:
        if "." in p[0] or "::" in p[0]:
            by_type.setdefault(p[0], []).append(p[1])
    return [
        f"{t} ({len(names)} layer{'s' if len(names) > 1 else ''}: {', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"
        for t, names in by_type.items()
    ]


def convert(model_path: str, out_dir: str, fp16: bool, shapes: dict[str, list[int]]) -> None:
    import pnnx

    inputs, outputs, external = read_graph(model_path)
    input_shapes(model_path, inputs, shapes)
    batch = inputs[0]["batch"]
    if batch > 1:
        mixing = batch_mixing_ops(model_path)
        if mixing:
            raise ConvertError(
                f"{model_path}: batch {batch}: ncnn Mats have no batch dimension, and this graph works across the items of "
                f"a batch, so they cannot run one at a time: {'; '.join(mixing[:5])}{' ...' if len(mixing) > 5 else ''} "
                f"(shapes: {{{inputs[0]['name']}: {[1] + inputs[0]['shape'][1:]}}} runs it at batch 1)"
            )
        # the graph's batch dim is free here: converted for 1, run batch items one at a time
        for t in inputs + outputs:
            if t["dims"] and isinstance(t["dims"][0], int):
                t["dims"] = ["batch"] + list(t["dims"][1:])
    os.makedirs(out_dir, exist_ok=True)
    # pnnx writes model.pnnxsim.onnx next to its input: it reads model.onnx in out_dir instead
    # (a link), so the model's folder stays untouched. pnnx cannot read external tensor data
    # ("FATAL ERROR no external data"), so such a model is copied in with its data inlined.
    local = os.path.join(out_dir, "model.onnx")
    if os.path.lexists(local):
        os.remove(local)
    if batch > 1 and any(isinstance(i["dims"], list) and i["dims"] and i["dims"][0] == "batch" for i in inputs):
        # a graph with a static batch N: pnnx converts for the shapes the graph declares, so
        # the copy it reads declares a free batch dim (the graph keeps items apart, checked above)
        import onnx

        try:
            model = onnx.load(model_path, load_external_data=bool(external))
        except Exception as e:  # noqa: BLE001 - a missing or unsafe data file, said with its name
            raise ConvertError(f"{model_path}: cannot read it to free its batch dim: {type(e).__name__}: {e}") from e
        for v in list(model.graph.input) + list(model.graph.output):
            dims = v.type.tensor_type.shape.dim
            if len(dims) > 0 and dims[0].HasField("dim_value"):
                dims[0].Clear()
                dims[0].dim_param = "batch"
        del model.graph.value_info[:]
        onnx.save(model, local)
        print(f"benchalign: {model_path} declares batch {batch}; pnnx reads a copy whose batch dim is free (emulated batching)", file=sys.stderr, flush=True)
    elif external:
        import onnx

        try:
            model = onnx.load(model_path, load_external_data=True)
        except Exception as e:  # noqa: BLE001 - a missing or unsafe data file, said with its name
            raise ConvertError(f"{model_path}: cannot read its external data ({', '.join(external)}): {type(e).__name__}: {e}") from e
        if model.ByteSize() >= 2**31 - 2**20:
            raise ConvertError(f"{model_path}: its external data ({', '.join(external)}) does not fit in one ONNX file (2 GB), and pnnx reads only inlined weights")
        onnx.save(model, local)
        print(f"benchalign: inlined the external data of {model_path} ({', '.join(external)}) for pnnx", file=sys.stderr, flush=True)
    else:
        os.symlink(os.path.abspath(model_path), local)
    inputshape = ",".join("[" + ",".join(str(s) for s in i["shape"]) + "]" + i["pnnx"] for i in inputs)
    argv = [pnnx.EXEC_PATH, "model.onnx", f"inputshape={inputshape}", f"fp16={1 if fp16 else 0}"]
    print("benchalign: " + " ".join(argv), file=sys.stderr, flush=True)
    status = subprocess.call(argv, cwd=out_dir, stdin=subprocess.DEVNULL)
    missing = [f for f in ("model.ncnn.param", "model.ncnn.bin", "model.pnnx.param") if not os.path.exists(os.path.join(out_dir, f))]
    if status != 0 or missing:
        if status < 0:
            import signal

            try:
                name = f" ({signal.Signals(-status).name})"
            except ValueError:
                name = ""
            why = f"was killed by signal {-status}{name}"
        elif status > 0:
            why = f"exited with status {status}"
        else:
            why = f"wrote no {', '.join(missing)}"
        raise ConvertError(f"pnnx {why} converting {model_path}", 3)
    notes = check_mapping(inputs, outputs, out_dir)
    notes.extend(fold_input_casts(out_dir, inputs))
    notes.extend(fix_tanh_gelu(model_path, out_dir))
    left = unsupported_layers(os.path.join(out_dir, "model.ncnn.param"))
    if left:
        raise ConvertError(
            f"pnnx converted {model_path}, but left operators that ncnn has no layer for: {'; '.join(left)} "
            "(ncnn's load_param would fail with 'layer <type> not exists or registered')",
            3,
        )
    for f in ("model.onnx", "model.pnnx.bin", "model.pnnx.onnx", "model.pnnxsim.onnx", "model_pnnx.py", "model_ncnn.py"):
        p = os.path.join(out_dir, f)
        if os.path.lexists(p):
            os.remove(p)
    sidecar = {
        "format": SIDECAR_FORMAT,
        "converter": f"pnnx {pnnx_version()}",
        "argv": argv[1:],
        "source": os.path.basename(model_path),
        "fp16Weights": fp16,
        # the model's batch: the worker runs its items one at a time on the batch-1 conversion
        "batch": batch,
        # the cache key holds the .onnx file's hash only; the runner checks these on a cache hit
        "externalData": [{"file": rel, "sha256": _sha256(os.path.join(os.path.dirname(os.path.abspath(model_path)), rel))} for rel in external],
        "inputs": [{**{k: i[k] for k in ("name", "blob", "dtype", "dims", "shape")}, **({"feed": i["feed"]} if "feed" in i else {})} for i in inputs],
        "outputs": [{k: o[k] for k in ("name", "blob", "dtype", "dims", "shape")} for o in outputs],
        "notes": notes,
    }
    with open(os.path.join(out_dir, SIDECAR), "w", encoding="utf-8") as f:
        json.dump(sidecar, f, indent=2)


def main(argv: list[str]) -> int:
    if argv == ["--version"]:
        print(json.dumps({"pnnx": pnnx_version(), "sidecarFormat": SIDECAR_FORMAT}))
        return 0
    ap = argparse.ArgumentParser(prog="benchalign_worker.ncnn_convert")
    ap.add_argument("model")
    ap.add_argument("out_dir")
    ap.add_argument("--fp16", choices=["0", "1"], required=True)
    ap.add_argument("--shapes", default="{}")
    args = ap.parse_args(argv)
    try:
        try:
            shapes = json.loads(args.shapes)
        except ValueError as e:
            raise ConvertError(f"--shapes: not JSON ({e})") from e
        if not isinstance(shapes, dict) or not all(
            isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in v) for v in shapes.values()
        ):
            raise ConvertError(f"--shapes: expected {{input: [int, ...]}}, got {args.shapes}")
        convert(args.model, args.out_dir, args.fp16 == "1", shapes)
    except ConvertError as e:
        print(f"benchalign: {e}", file=sys.stderr, flush=True)
        return e.status
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
