"""graddoctor.stats."""
