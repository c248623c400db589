"""MNN's model converter (MNNConvert), run from pip MNN's `_tools` extension.

Usage: python -m benchalign_worker.mnn_convert [MNNConvert arguments]
       python -m benchalign_worker.mnn_convert --version

Why not the ``mnnconvert`` script pip installs: after converting, that script imports
``MNN.tools.utils.log``, which runs ``pip install -U aliyun-log-python-sdk`` through a shell
(with whatever ``pip`` is first on PATH) and then tries to send a usage log to a remote
service. The conversion itself is the same C++ converter either way.

MNNConvert returns success and exits 0 even when it rejects the model, so success here means
that the model file was written. Next to it, ``<MNNModel>.convert.json`` records the converter, its
version and the arguments (paths left out), and the worker reports them.
"""

from __future__ import annotations

import json
import os
import sys


def _value(args: list[str], flag: str) -> str | None:
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(flag + "="):
            return a[len(flag) + 1 :]
    return None


def main(args: list[str]) -> int:
    import MNN

    if args == ["--version"]:
        print(MNN.version())
        return 0
    out = _value(args, "--MNNModel")
    src = _value(args, "--modelFile")
    if out is None or src is None:
        print("mnn_convert: --modelFile and --MNNModel are required", file=sys.stderr)
        return 2
    if not os.path.isfile(src):
        print(f"mnn_convert: no such model file: {src}", file=sys.stderr)
        return 1
    if os.path.exists(out):
        os.remove(out)
    import _tools  # the converter extension that ships in pip MNN

    sys.stdout.flush()
    _tools.mnnconvert(["MNNConvert", *args])
    sys.stdout.flush()
    if not os.path.isfile(out) or os.path.getsize(out) == 0:
        print(f"mnn_convert: MNNConvert wrote no model for {src} (see its messages above)", file=sys.stderr)
        return 1
    kept: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a in ("--MNNModel", "--modelFile"):
            skip = True
        elif not a.startswith(("--MNNModel=", "--modelFile=")):
            kept.append(a)
    record = {"converter": "MNNConvert", "version": MNN.version(), "args": kept}
    with open(out + ".convert.json", "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
