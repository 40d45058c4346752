"""graddoctor.present."""
