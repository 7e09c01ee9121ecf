"""FHIR R4 in and out, at the edge: a library, testable without a server (docs/fhir-conformance.md).

- :func:`read_fhir` - a Bundle or resources (parsed JSON) -> :class:`FhirInput`: the contract documents of
  ``b2m assess`` and ``b2m monitor``, the origin of every element, and what was not used and why; its
  :meth:`FhirInput.patient` / :meth:`FhirInput.patient_series` go through the same edge as JSON input.
- :func:`assessment_bundle` - an assessment (and a monitoring result) -> a Bundle of mCODE CancerStage
  and other Observations with their evidence, a Provenance and an OperationOutcome of ignored inputs.
- :func:`contract_to_fhir` - a patient document of the JSON contract -> FHIR input resources.

Resources are fhir.resources R4B models (R4 payloads: ``fhir.resources.R4B``).
"""

from b2m.io.fhir.contract import contract_to_fhir
from b2m.io.fhir.reader import FhirInput, Ignored, Origin, check_fish_codes, read_fhir
from b2m.io.fhir.writer import assessment_bundle

__all__ = [
    "FhirInput",
    "Ignored",
    "Origin",
    "assessment_bundle",
    "check_fish_codes",
    "contract_to_fhir",
    "read_fhir",
]
