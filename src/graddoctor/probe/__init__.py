"""graddoctor.probe."""
