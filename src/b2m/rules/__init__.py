"""Staging systems and scores: one module per published rule version, each a pure function of typed,
canonical inputs that returns its result with provenance (rule, DOI, criteria, notes). The three-valued
logic the rules share lives apart from them (:mod:`~b2m.rules.kleene` for one patient,
:mod:`~b2m.rules.expr` for dataframes)."""
