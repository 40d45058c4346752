"""graddoctor.repair."""
