"""Cohort analytics: lab values at diagnosis (:mod:`~b2m.cohort.at_diagnosis`, :mod:`~b2m.cohort.assemble`),
survival by staging system (:mod:`~b2m.cohort.survival`), small-count suppression
(:mod:`~b2m.cohort.suppression`). Reading cohort sources is the edge's job (:mod:`b2m.io.cohort`);
engines (Polars, DuckDB, Spark) are infrastructure (:mod:`b2m.engines`).
"""
