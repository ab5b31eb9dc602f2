"""The EventProp engine: kernel plans and generated code (codegen/), the CPU and CUDA engines that run them, readout
reductions, and the torch bridge (module.py: `compile(net)`). Knows networks, not configs or training."""
