"""b2m: serum beta-2 microglobulin in multiple myeloma, from one patient to a registry."""

__version__ = "0.1.0"
