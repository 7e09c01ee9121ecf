"""Human-readable renderings of assessments (terminal text now; HTML/PDF reports later)."""
