"""mlGeNN utilities supported by eventprop.mlgenn."""
