"""graddoctor.lab."""
