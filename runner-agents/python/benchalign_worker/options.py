"""Checking engine options in Python workers: every problem at once, each with its option name."""

from __future__ import annotations

from typing import Any

from .protocol import config_error


class Options:
    """Reads typed options from a dict, collecting problems; :meth:`done` raises them together."""

    def __init__(self, engine: str, raw: dict[str, Any]) -> None:
        self.engine = engine
        self.raw = dict(raw)
        self.problems: list[str] = []
        self.seen: set[str] = set()

    def int(self, name: str, default: int, minimum: int = 0) -> int:
        self.seen.add(name)
        v = self.raw.get(name, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            self.problems.append(f"options.{name}: expected an integer >= {minimum}, got {v!r}")
            return default
        return v

    def bool(self, name: str, default: bool) -> bool:
        self.seen.add(name)
        v = self.raw.get(name, default)
        if not isinstance(v, bool):
            self.problems.append(f"options.{name}: expected true or false, got {v!r}")
            return default
        return v

    def choice(self, name: str, default: str, choices: list[str]) -> str:
        self.seen.add(name)
        v = self.raw.get(name, default)
        if v not in choices:
            self.problems.append(f"options.{name}: expected one of {'|'.join(choices)}, got {v!r}")
            return default
        return v

    def done(self) -> None:
        unknown = sorted(set(self.raw) - self.seen)
        for name in unknown:
            self.problems.append(f"options.{name}: unknown option (known: {', '.join(sorted(self.seen))})")
        if self.problems:
            raise config_error(f"{self.engine}: " + "; ".join(self.problems), "valid engine options (docs/engines.md)")
