"""Cohort sources at the edge: wide tables, long lab feeds, OMOP CDM, the bundled GSE24080 example.

``load_cohort`` (:mod:`b2m.io.cohort.load`) reads a source on any engine and hands it to the cohort
analytics (:mod:`b2m.cohort.assemble`: values at diagnosis and stages); ``write_values``
(:mod:`b2m.io.cohort.values`) writes the per-patient table and its audit trail to files.
"""

from b2m.cohort.assemble import CohortData
from b2m.io.cohort.load import load_cohort

__all__ = ["CohortData", "load_cohort"]
