"""graddoctor.diagnosis.detectors."""
