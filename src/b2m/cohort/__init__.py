"""Cohorts at any scale: lab feeds, OMOP CDM or wide tables -> lab values at diagnosis -> stages.

``load_cohort`` (:mod:`b2m.cohort.load`) is the entry point; the window pick lives in
:mod:`b2m.cohort.at_diagnosis`, OMOP reading in :mod:`b2m.cohort.omop`, and the engine adapters
(Polars, DuckDB, Spark) in :mod:`b2m.cohort.engines`. Imports point one way: ``cohort`` uses
``rules``, ``units`` and ``io``; nothing in those imports ``cohort``.
"""

from b2m.cohort.load import CohortData, load_cohort

__all__ = ["CohortData", "load_cohort"]
