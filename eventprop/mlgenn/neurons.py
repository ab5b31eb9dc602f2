"""mlGeNN neuron models supported by eventprop. mlGeNN's own defaults (relative_reset=True, scale_i=False) describe
another neuron than EventProp's; Network(default_params) from eventprop.mlgenn.compilers.event_prop_compiler sets
the EventProp ones, as in mlGeNN's EventProp examples."""
from __future__ import annotations

from .errors import unsupported
from .network import network_default_params

_DEFAULTS = "build the network as Network(default_params) (from eventprop.mlgenn.compilers.event_prop_compiler " \
            "import default_params), as mlGeNN's EventProp examples do"


def _scaled(model: str, scale_i: bool):
    if not scale_i:
        raise unsupported(f"{model}(scale_i=False) (V <- alpha V + I; mlGeNN's default outside default_params)",
                          f"eventprop integrates V <- alpha V + (1 - alpha) I: {_DEFAULTS}")


class SpikeInput:
    def __init__(self, max_spikes: int = 1000000, **kwargs):
        if kwargs:
            raise unsupported(f"SpikeInput({', '.join(kwargs)}=...)")
        self.max_spikes = max_spikes


class LeakyIntegrateFire:
    @network_default_params
    def __init__(self, v_thresh: float = 1.0, v_reset: float = 0.0, v: float = 0.0, tau_mem: float = 20.0,
                 tau_refrac=None, relative_reset: bool = True, integrate_during_refrac: bool = True,
                 scale_i: bool = False, readout=None, **kwargs):
        if kwargs:
            raise unsupported(f"LeakyIntegrateFire({', '.join(kwargs)}=...)")
        if relative_reset:
            raise unsupported("LeakyIntegrateFire(relative_reset=True) (V -= v_thresh - v_reset after a spike; "
                              "mlGeNN's default outside default_params)", f"eventprop sets V = 0: {_DEFAULTS}")
        _scaled("LeakyIntegrateFire", scale_i)
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
    @network_default_params
    def __init__(self, v: float = 0.0, bias: float = 0.0, tau_mem: float = 20.0, scale_i: bool = False,
                 readout=None, **kwargs):
        if kwargs:
            raise unsupported(f"LeakyIntegrate({', '.join(kwargs)}=...)")
        _scaled("LeakyIntegrate", scale_i)
        if v != 0.0 or bias != 0.0:
            raise unsupported("LeakyIntegrate with an initial v or bias other than 0")
        if readout not in ("avg_var_exp_weight", "avg_var", "sum_var", "max_var"):
            raise unsupported(f"readout {readout!r}", "use avg_var_exp_weight, avg_var, sum_var or max_var")
        self.tau_mem, self.readout = tau_mem, readout
