"""mlGeNN synapse models supported by eventprop."""


class Exponential:
    def __init__(self, tau: float = 5.0):
        self.tau = tau
