"""One error type for what the compatibility layer does not support."""
from ..errors import ModelError


class Unsupported(ModelError):
    """An mlGeNN feature eventprop.mlgenn does not provide."""


def unsupported(what: str, hint: str = "") -> Unsupported:
    return Unsupported(f"eventprop.mlgenn: {what} is not supported" + (f" ({hint})" if hint else ""))
