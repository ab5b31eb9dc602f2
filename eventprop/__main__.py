"""`python -m eventprop ...` (and `torchrun -m eventprop train ...`): the command line."""
from .cli import main

main(prog_name="eventprop")
