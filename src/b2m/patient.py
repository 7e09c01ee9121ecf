"""A patient as the engine sees it: typed values in canonical units, ``None`` meaning unknown.

This is domain data, independent of how it arrived (the JSON contract is read in :mod:`b2m.io.patient`,
other sources can build the same objects).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from b2m.units import LabValue

Sex = Literal["female", "male"]
Setting = Literal["new_diagnosis", "relapse", "smm", "mgus"]
Disease = Literal["multiple_myeloma", "cll", "waldenstrom", "follicular_lymphoma"]
Isotype = Literal["IgG", "IgA", "IgM", "IgD", "IgE", "light_chain", "non_secretory"]

SEXES: tuple[Sex, ...] = ("female", "male")
SETTINGS: tuple[Setting, ...] = ("new_diagnosis", "relapse", "smm", "mgus")
DISEASES: tuple[Disease, ...] = ("multiple_myeloma", "cll", "waldenstrom", "follicular_lymphoma")
ISOTYPES: tuple[Isotype, ...] = ("IgG", "IgA", "IgM", "IgD", "IgE", "light_chain", "non_secretory")
# Skeletal survey grade of Durie–Salmon 1975 (read by that rule; recorded with the patient's imaging).
BoneLesions = Literal["none", "solitary_plasmacytoma", "limited", "advanced"]
BONE_LESIONS: tuple[BoneLesions, ...] = ("none", "solitary_plasmacytoma", "limited", "advanced")


@dataclass(frozen=True, slots=True)
class Cytogenetics:
    del17p: bool | None = None
    del17p_clonal_fraction_percent: float | None = None
    t4_14: bool | None = None
    t14_16: bool | None = None
    t14_20: bool | None = None
    gain1q: bool | None = None  # 1q gain (3 copies)
    amp1q: bool | None = None  # 1q amplification (>= 4 copies)
    del1p32: bool | None = None
    del1p32_biallelic: bool | None = None
    del13q: bool | None = None  # used by the IMWG 2020 smouldering-myeloma score
    tp53_mutation: bool | None = None
    cd138_purified: bool | None = None

    @property
    def del1p32_status(self) -> Literal["absent", "monoallelic", "biallelic", "present"] | None:
        if self.del1p32 is None:
            return None
        if not self.del1p32:
            return "absent"
        return {True: "biallelic", False: "monoallelic", None: "present"}[self.del1p32_biallelic]  # type: ignore[return-value]

    @property
    def plus1q(self) -> bool | None:
        """1q+ counted once. The contract's ``gain1q`` is the report's 1q+ call (gain or amplification);
        ``amp1q`` is an optional detail, so ``amp1q: true`` makes 1q+ true whatever ``gain1q`` says."""
        return True if self.amp1q else self.gain1q


@dataclass(frozen=True, slots=True)
class Imaging:
    # Counted apart from a biopsied index plasmacytoma (IMWG 2014 reads imaging "except the primary lesion").
    osteolytic_lesions: int | None = None  # on skeletal X-ray, CT or PET-CT
    mri_focal_lesions: int | None = None  # focal lesions >= 5 mm on MRI
    bone_status: BoneLesions | None = None  # Durie-Salmon skeletal survey grade
    biopsy_proven_plasmacytoma: bool | None = None
    extramedullary_plasmacytoma: bool | None = None


@dataclass(frozen=True, slots=True)
class CLLFeatures:
    ighv_unmutated: bool | None = None
    binet_stage: Literal["A", "B", "C"] | None = None
    rai_stage: int | None = None


@dataclass(frozen=True, slots=True)
class LymphomaFeatures:
    largest_node_diameter_cm: float | None = None
    bone_marrow_involvement: bool | None = None


@dataclass(frozen=True, slots=True)
class Patient:
    id: str
    age: float | None = None
    sex: Sex | None = None
    weight_kg: float | None = None
    setting: Setting | None = None
    disease: Disease = "multiple_myeloma"
    labs: Mapping[str, LabValue] = field(default_factory=dict)
    cytogenetics: Cytogenetics = Cytogenetics()
    marrow_plasma_cells_percent: float | None = None
    imaging: Imaging = Imaging()
    conditions: tuple[str, ...] = ()
    medications: tuple[str, ...] = ()
    isotype: Isotype | None = None
    involved_light_chain: Literal["kappa", "lambda"] | None = None
    amyloidosis: bool | None = None
    crab_attributable: bool | None = None  # CRAB features attributable to the plasma-cell disorder
    igm_related_features: bool | None = None  # IgM MGUS: symptoms, hyperviscosity, nodes, organomegaly
    marrow_lymphoplasmacytic_percent: float | None = None
    cll: CLLFeatures = CLLFeatures()
    lymphoma: LymphomaFeatures = LymphomaFeatures()

    def lab(self, key: str) -> LabValue | None:
        return self.labs.get(key)
