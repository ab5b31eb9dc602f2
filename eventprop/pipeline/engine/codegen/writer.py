"""A tiny indented-source builder used by the emitters."""
from __future__ import annotations

from contextlib import contextmanager


class CodeWriter:
    def __init__(self):
        self.lines: list[str] = []
        self.depth = 0

    def __call__(self, *lines: str) -> "CodeWriter":
        for line in lines:
            self.lines.append("    " * self.depth + line if line else "")
        return self

    @contextmanager
    def block(self, header: str):
        self(header)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def source(self) -> str:
        return "\n".join(self.lines) + "\n"
