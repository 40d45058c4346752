"""graddoctor.integrations."""
