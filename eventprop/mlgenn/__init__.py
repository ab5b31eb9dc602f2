"""mlGeNN-compatible names and call shapes for the parts eventprop supports, so a typical mlGeNN EventProp script runs
by changing `ml_genn` to `eventprop.mlgenn` in its imports. Anything else raises one clear error naming it.

Supported: Network (with default_params; Network.load), Population, Connection, SequentialNetwork, InputLayer,
Layer; neurons SpikeInput,
LeakyIntegrateFire, LeakyIntegrate; synapses Exponential; connectivity Dense, FixedProbability; initializers Normal,
Uniform, Constant; optimisers Adam; compilers EventPropCompiler (sparse categorical cross-entropy, readouts, the
spike regulariser with equal upper and lower strength, delay_learn_conns, delay_optimiser) and InferenceCompiler,
compilers.event_prop_compiler.default_params; compiled networks' train / evaluate (mlGeNN's return values), save,
save_connectivity; callbacks Callback, Checkpoint, BatchProgressBar ("batch_progress_bar"), SpikeRecorder,
VarRecorder (readout v); serialisers Numpy (mlGeNN's file layout); utils.data preprocess_tonic_spikes,
calc_max_spikes, calc_latest_spike_time, generate_yin_yang_dataset; callbacks.OptimiserParamSchedule. The network is simulated by eventprop's engine at the compiler's dt;
semantics as mlGeNN's with default_params for integer delays (docs/guides/interop.md).
"""
from .network import Connection, InputLayer, Layer, Network, Population, SequentialNetwork

__all__ = ["Network", "Population", "Connection", "SequentialNetwork", "InputLayer", "Layer"]
