"""A PyTorch module's return value as named tensors: shared by the PyTorch worker and `refs`."""

from __future__ import annotations

from typing import Any


def flatten_tensors(raw: Any, tensor_type: type) -> list[tuple[str | None, Any]]:
    """The tensors in `raw` in order, each with its name where the container gives one.

    A tensor is unnamed; a dict gives its keys (non-tensor values left out); a tuple or list is
    walked depth first, a namedtuple naming its direct tensor fields. Anything else raises
    TypeError naming its type, for the caller to turn into its own error.
    """
    if isinstance(raw, tensor_type):
        return [(None, raw)]
    if isinstance(raw, dict):
        return [(str(k), v) for k, v in raw.items() if isinstance(v, tensor_type)]
    if isinstance(raw, (tuple, list)):
        fields = getattr(raw, "_fields", None)
        out: list[tuple[str | None, Any]] = []
        for i, v in enumerate(raw):
            out.extend([(fields[i] if fields else None, v)] if isinstance(v, tensor_type) else flatten_tensors(v, tensor_type))
        return out
    raise TypeError(type(raw).__name__)
