"""The edge: every document and file that enters or leaves b2m is read or written here, and nowhere else.

- :mod:`b2m.io.models` - strict pydantic models of every document from outside (patient, series, run
  options): the JSON Schemas (``b2m schema``) and the API's request bodies
- :mod:`b2m.io.documents` - JSON bytes -> checked document (size, UTF-8, duplicate keys, surrogates,
  nesting) -> validated model -> domain objects; one path for the CLI and the API
- :mod:`b2m.io.patient` - the patient JSON contract -> :class:`b2m.patient.Patient`
- :mod:`b2m.io.series` - the series document and its long format (CSV / Parquet) ->
  :class:`b2m.monitor.series.PatientSeries`
- :mod:`b2m.io.batch` - ``b2m stage``: CSV / Parquet batch files, streamed
- :mod:`b2m.io.columns` - typed columns from text (numbers, censored results, dates, yes/no) on any engine
- :mod:`b2m.io.cohort` - cohort sources (wide, long lab feeds, OMOP CDM, GSE24080) and ``b2m cohort values``
- :mod:`b2m.io.fhir` - FHIR R4 in (Bundle -> the contract documents) and out (mCODE CancerStage, Provenance)
"""
