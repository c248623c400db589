"""LiteRT's converter for the litert runner: the suite model's PyTorch form (as an
ExportedProgram, see torch_export.py) converted with ``litert_torch.convert`` and written as
``model.tflite``.

Usage: python -m benchalign_worker.litert_convert --request <request.json>
       python -m benchalign_worker.litert_convert --version

The request: {"pytorch": {kind, path, factory?}, "inputs": [{name, dtype, dims}],
"outputNames": [...], "out": folder}. Next to the model it writes ``model.tflite.convert.json``:
the litert-torch and torch versions, how the model was exported, and the inputs and outputs
by name and dtype as the PyTorch model has them (litert-torch narrows int64/float64 model
I/O to 32 bits; the worker narrows feeds and widens outputs back, checked).
"""

from __future__ import annotations

import json
import os
import sys

from .torch_export import ConvertError, example_inputs, exported_program, fail, read_request


def _version() -> str:
    from importlib.metadata import version

    return version("litert-torch")


def main(args: list[str]) -> int:
    if args == ["--version"]:
        import torch

        print(json.dumps({"litertTorch": _version(), "torch": torch.__version__}))
        return 0
    try:
        req = read_request(args, "litert_convert")
        import litert_torch
        import torch

        ex_args = example_inputs(req["inputs"])
        ep, how = exported_program(req["pytorch"], ex_args)
        path = os.path.join(req["out"], "model.tflite")
        try:
            converted = litert_torch.convert(ep.module(), ex_args)
            converted.export(path)
        except Exception as e:  # noqa: BLE001 - the converter's message names the op it cannot lower
            raise ConvertError(f"litert-torch could not convert {req['pytorch'].get('path')}: {type(e).__name__}: {' '.join(str(e).split())[:1500]}") from e
        with torch.inference_mode():
            raw = ep.module()(*ex_args)
        flat = [raw] if isinstance(raw, torch.Tensor) else [t for t in (raw.values() if isinstance(raw, dict) else raw) if isinstance(t, torch.Tensor)]
        names = req.get("outputNames") or [f"output_{i}" for i in range(len(flat))]
        outputs = [{"name": n, "dtype": str(t.dtype).removeprefix("torch."), "dims": list(t.shape)} for n, t in zip(names, flat)]
        record = {
            "converter": "litert_torch.convert",
            "version": _version(),
            "torch": torch.__version__,
            "exported": how,
            "inputs": req["inputs"],
            "outputs": outputs,
        }
        with open(path + ".convert.json", "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2)
        return 0
    except ConvertError as e:
        return fail(e)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
