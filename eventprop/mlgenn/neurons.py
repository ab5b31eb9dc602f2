"""mlGeNN neuron models supported by eventprop."""
from __future__ import annotations

from .errors import unsupported


class SpikeInput:
    def __init__(self, max_spikes: int = 1000000, **kwargs):
        if kwargs:
            raise unsupported(f"SpikeInput({', '.join(kwargs)}=...)")
        self.max_spikes = max_spikes


class LeakyIntegrateFire:
    def __init__(self, v_thresh: float = 1.0, v_reset: float = 0.0, v: float = 0.0, tau_mem: float = 20.0,
                 tau_refrac=None, relative_reset: bool = True, integrate_during_refrac: bool = True,
                 readout=None, **kwargs):
        if kwargs:
            raise unsupported(f"LeakyIntegrateFire({', '.join(kwargs)}=...)")
        if tau_refrac not in (None, 0, 0.0) and integrate_during_refrac:
            raise unsupported("LeakyIntegrateFire(tau_refrac=..., integrate_during_refrac=True)",
                              "eventprop's RefractoryLIF holds V at 0 while refractory: pass "
                              "integrate_during_refrac=False")
        if v_reset != 0.0 or v != 0.0:
            raise unsupported("LeakyIntegrateFire with v_reset or initial v other than 0")
        if readout is not None:
            raise unsupported("a readout on a spiking population")
        self.v_thresh, self.tau_mem, self.tau_refrac = v_thresh, tau_mem, float(tau_refrac or 0.0)


class LeakyIntegrate:
    def __init__(self, v: float = 0.0, bias: float = 0.0, tau_mem: float = 20.0, readout=None, **kwargs):
        if kwargs:
            raise unsupported(f"LeakyIntegrate({', '.join(kwargs)}=...)")
        if v != 0.0 or bias != 0.0:
            raise unsupported("LeakyIntegrate with an initial v or bias other than 0")
        if readout not in ("avg_var_exp_weight", "avg_var", "sum_var", "max_var"):
            raise unsupported(f"readout {readout!r}", "use avg_var_exp_weight, avg_var, sum_var or max_var")
        self.tau_mem, self.readout = tau_mem, readout
