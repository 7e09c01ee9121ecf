"""Options of the batch and cohort runs: what ``b2m stage`` and ``b2m cohort ...`` build from their flags,
and what the API takes as request bodies.

Each option is checked here once (type, range, choice); what needs the data (a FISH concept id
that is not in the vocabulary, an engine that is not installed) is checked where the data are read.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from b2m.cohort.at_diagnosis import Policy, Window
from b2m.cohort.survival import DEFAULT_BOOTSTRAP, DEFAULT_SEED
from b2m.engines.base import EngineName
from b2m.errors import InputError
from b2m.io.models.base import Accepted, Contract
from b2m.units import ANALYTES

Kind = Literal["wide", "long", "omop"]
FishKey = Literal["del17p", "t4_14", "t14_16", "gain1q"]
LDH_ULN_RANGE_U_L = ANALYTES["ldh"].plausible
MAX_WINDOW_DAYS = 999_999_999
MAX_BOOTSTRAP = 100_000
SEED_RANGE = (0, 2**32 - 1)
ConceptId = Annotated[int, Field(ge=0, le=2**63 - 1)]  # OMOP concept_id: an integer column (int64 at most)


class StageOptions(Contract):
    """`b2m stage`: batch staging of a CSV or Parquet table."""

    on_invalid: Literal["error", "null"] = Field(
        "error",
        description="error: stop at the first invalid value, naming column, row and accepted forms; null: make it "
        "unknown (stages widen, never improve) and say why in a b2m_issues column.",
    )


class CohortOptions(Contract):
    """What `b2m cohort values` and `b2m cohort report` share: where the values at diagnosis come from."""

    kind: Kind = Field(
        description="Input layout: wide (the batch columns of b2m stage), long (a lab-event table with a patient "
        "table) or omop (OMOP CDM v5.4)."
    )
    engine: EngineName = Field("polars", description="Where frames are computed: polars (embedded), duckdb or spark.")
    window_days: Annotated[list[int], Accepted("two whole numbers of days [lo, hi] with lo <= hi, e.g. [-60, 30]")] = (
        Field(
            [-60, 30],
            min_length=2,
            max_length=2,
            description="Days around the index date in which a value is taken, [lo, hi], both inclusive.",
            json_schema_extra={"items": {"type": "integer", "minimum": -MAX_WINDOW_DAYS, "maximum": MAX_WINDOW_DAYS}},
        )
    )
    policy: Policy = Field(
        "nearest",
        description="Which value in the window: nearest (ties: the earlier date), last_before or first_after the "
        "index date.",
    )
    ldh_uln_u_l: Annotated[
        float | None, Accepted(f"a number in U/L, {LDH_ULN_RANGE_U_L[0]:g}-{LDH_ULN_RANGE_U_L[1]:g}")
    ] = Field(
        None,
        ge=LDH_ULN_RANGE_U_L[0],
        le=LDH_ULN_RANGE_U_L[1],
        description="LDH upper limit of normal (U/L) to assume where the data give none; stated in the output as "
        "an assumption.",
    )
    fish_concept_ids: dict[FishKey, list[ConceptId]] | None = Field(
        None,
        description="OMOP only: the site's own concept ids of each FISH result (FISH has no agreed OMOP code; "
        "without them FISH is unknown).",
        examples=[{"del17p": [123, 456]}],
    )

    @model_validator(mode="after")
    def _window(self) -> CohortOptions:
        lo, hi = self.window_days
        if not (-MAX_WINDOW_DAYS <= lo <= MAX_WINDOW_DAYS and -MAX_WINDOW_DAYS <= hi <= MAX_WINDOW_DAYS):
            raise InputError(
                "window_days", f"not a window: ({lo}, {hi})", f"whole numbers of days within ±{MAX_WINDOW_DAYS:,}"
            )
        Window(lo, hi, self.policy)  # lo <= hi, and a window the policy can use (one definition, in cohort/)
        if self.fish_concept_ids and self.kind != "omop":
            raise InputError(
                "fish_concept_ids", f"given for kind {self.kind!r}", "OMOP concept ids with kind='omop' only"
            )
        return self

    @property
    def window(self) -> tuple[int, int]:
        return (self.window_days[0], self.window_days[1])

    @property
    def fish_concepts(self) -> dict[str, list[int]] | None:
        return {str(k): v for k, v in self.fish_concept_ids.items()} if self.fish_concept_ids else None


class CohortValuesOptions(CohortOptions):
    """`b2m cohort values`: values at diagnosis and stages per patient."""

    kind: Kind = Field("long", description=CohortOptions.model_fields["kind"].description)
    audit_rows: Literal["all", "used"] = Field(
        "all", description="Audit trail rows: every measurement (used, or why not), or only those used."
    )


class CohortReportOptions(CohortOptions):
    """`b2m cohort report`: survival by ISS, R-ISS and R2-ISS."""

    kind: Kind = Field("wide", description=CohortOptions.model_fields["kind"].description)
    min_cell_count: int | None = Field(
        None,
        ge=2,
        description="Registry output: counts below N are written as '<N', with complementary suppression.",
    )
    bootstrap: int = Field(
        DEFAULT_BOOTSTRAP, ge=0, le=MAX_BOOTSTRAP, description="Bootstrap replicates for the C-index intervals."
    )
    seed: int = Field(DEFAULT_SEED, ge=SEED_RANGE[0], le=SEED_RANGE[1], description="Seed of the bootstrap.")


__all__ = [
    "CohortOptions",
    "CohortReportOptions",
    "CohortValuesOptions",
    "FishKey",
    "Kind",
    "StageOptions",
]
