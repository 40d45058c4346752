"""graddoctor.diagnosis."""
