"""Lab experiments, one module each."""
