"""ExecuTorch's exporter for the executorch runner: the suite model's PyTorch form through
``torch.export`` -> ``to_edge_transform_and_lower`` (with the XNNPACK partitioner unless
``xnnpack`` is false) -> ``to_executorch()``, written as ``model.pte``.

Usage: python -m benchalign_worker.executorch_convert --request <request.json>
       python -m benchalign_worker.executorch_convert --version

The request: {"pytorch": {kind, path, factory?}, "inputs": [{name, dtype, dims}],
"outputNames": [...], "out": folder, "xnnpack": true|false}. Next to the program it writes
``model.pte.convert.json``: the ExecuTorch and torch versions, how the model was exported,
the inputs and outputs, and which operators were delegated to XNNPACK and which were left to
the portable kernels (``executorch.devtools.backend_debug.get_delegation_info``).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from .torch_export import ConvertError, example_inputs, exported_program, fail, read_request


def _version() -> str:
    from executorch import version

    return str(version.__version__).split("+")[0]


def main(args: list[str]) -> int:
    if args == ["--version"]:
        import torch

        print(json.dumps({"executorch": _version(), "torch": torch.__version__}))
        return 0
    try:
        req = read_request(args, "executorch_convert")
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.devtools.backend_debug import get_delegation_info
        from executorch.exir import to_edge_transform_and_lower

        xnnpack = req.get("xnnpack", True) is True
        ex_args = example_inputs(req["inputs"])
        ep, how = exported_program(req["pytorch"], ex_args)
        try:
            edge = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()] if xnnpack else [])
            info = get_delegation_info(edge.exported_program().graph_module)
            program = edge.to_executorch()
        except Exception as e:  # noqa: BLE001 - ExecuTorch's message names the op it cannot lower
            raise ConvertError(f"ExecuTorch could not lower {req['pytorch'].get('path')}: {type(e).__name__}: {' '.join(str(e).split())[:1500]}") from e
        by_op: dict[str, dict[str, int]] = {}
        for op, b in sorted(info.delegation_by_operator.items()):
            by_op[str(op)] = {"delegated": int(b.delegated), "notDelegated": int(b.non_delegated)}
        path = os.path.join(req["out"], "model.pte")
        with open(path, "wb") as f:
            f.write(program.buffer)
        import torch

        record: dict[str, Any] = {
            "converter": "torch.export + executorch.exir.to_edge_transform_and_lower",
            "version": _version(),
            "torch": torch.__version__,
            "exported": how,
            "xnnpack": xnnpack,
            "inputs": req["inputs"],
            "outputNames": req.get("outputNames") or [],
            "delegation": {
                "delegatedNodes": int(info.num_delegated_nodes),
                "notDelegatedNodes": int(info.num_non_delegated_nodes),
                "subgraphs": int(info.num_delegated_subgraphs),
                "byOperator": by_op,
            },
        }
        with open(path + ".convert.json", "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2)
        return 0
    except ConvertError as e:
        return fail(e)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
