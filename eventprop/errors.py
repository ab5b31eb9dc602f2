"""One error hierarchy: every failure a user can cause or meet is an EventpropError whose message names the file,
config key, object or value at fault, meant to be shown as is (the CLI catches this one type, exit code 2)."""


class EventpropError(Exception):
    """Base of every error eventprop raises on purpose."""


class ModelError(EventpropError, ValueError):
    """A network description (population, connection, initialiser, parameter) is invalid."""


class ConfigError(EventpropError, ValueError):
    """A run configuration key or value is invalid; the message names the key."""


class DataError(EventpropError, ValueError):
    """Input spikes or a dataset file are missing or malformed; the message names the file and field."""


class RunError(EventpropError):
    """A problem with a run folder, checkpoint, kernel cache or a training run that cannot go on."""


class DeployError(EventpropError, ValueError):
    """The network cannot be deployed as asked; the message names the layer or value at fault."""


class LavaError(EventpropError, RuntimeError):
    """Lava failed, timed out, or is not available for the requested target."""


class DeviceError(EventpropError, RuntimeError):
    """No way to run the requested backend (e.g. CUDA) here."""
