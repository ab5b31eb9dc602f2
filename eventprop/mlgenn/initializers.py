"""mlGeNN initializers as eventprop initialisers."""
from ..models import initialisers


def Normal(mean: float = 0.0, sd: float = 1.0):  # noqa: N802 - mlGeNN's name
    return initialisers.Normal(mean, sd)


def Uniform(min: float = 0.0, max: float = 1.0):  # noqa: N802,A002 - mlGeNN's names
    return initialisers.Uniform(min, max)


def Constant(value: float = 0.0):  # noqa: N802
    return initialisers.Constant(value)
