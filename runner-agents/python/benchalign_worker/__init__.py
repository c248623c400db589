"""benchalign's Python engine workers (docs/workers.md). One module per engine; `protocol` is shared."""
