"""graddoctor.store."""
