"""graddoctor.repair.remedies."""
