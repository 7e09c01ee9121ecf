"""The calculator's form: one field per place in the patient document of ``b2m assess`` (README, "JSON contract"),
named by its document path (``labs.b2m``, ``cytogenetics.del17p``, ``age``), and the patient features each one
feeds (:data:`b2m.rules.features.FEATURES`, read by the rules).

A rule's form is found from the registry: the features it reads (a staging system's ``inputs``, a score's
``arguments``) lead to their fields here. Nothing in this module names a rule; a test checks that every feature
has a field, so a rule reading a new feature fails until its field is written.

The form's values go into a document as entered (a lab's number and its unit as chosen; a decimal comma is read
as a decimal point; ``<0.5`` stays a censored text), which the edge then checks (:mod:`b2m.io.models`) and reads
through the unit layer, exactly as for ``b2m assess``.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from b2m.io.models.patient import PatientDocument
from b2m.patient import BoneLesions, Disease, Isotype, Setting, Sex
from b2m.units import ANALYTES

Kind = Literal["lab", "bool", "choice", "number", "integer", "codes"]


def _choices(literal: Any, labels: Mapping[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    return tuple((v, (labels or {}).get(v, str(v).replace("_", " "))) for v in typing.get_args(literal))


@dataclass(frozen=True, slots=True)
class Field:
    """One input of the calculator form."""

    name: str  # the document path, dotted
    label: str
    kind: Kind
    choices: tuple[tuple[str, str], ...] = ()
    unit: str = ""  # the unit of a plain number
    hint: str = ""
    limits: Literal["details", "inline", "none"] = "details"  # a lab: the reporting lab's reference interval

    @property
    def analyte(self) -> str:
        return self.name.split(".", 1)[1] if self.kind == "lab" else ""

    @property
    def units(self) -> tuple[str, ...]:
        return ANALYTES[self.analyte].accepted if self.kind == "lab" else ()

    @property
    def dom_id(self) -> str:
        """An id for the page (``labs-b2m``): dots would need escaping in selectors."""
        return "f-" + self.name.replace(".", "-")


def _lab(key: str, **kw: Any) -> Field:
    a = ANALYTES[key]
    label = a.label[0].upper() + a.label[1:]
    return Field(f"labs.{key}", label, "lab", **kw)


SETTING_LABELS = {"smm": "smouldering myeloma", "mgus": "MGUS"}
YES_NO = (("true", "yes"), ("false", "no"))
PRESENT = (("true", "present"), ("false", "absent"))

FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("disease", "Disease", "choice", _choices(Disease)),
        Field(
            "setting", "Clinical setting", "choice", _choices(Setting, {"smm": "smouldering myeloma", "mgus": "MGUS"})
        ),
        _lab("b2m"),
        _lab("albumin", limits="none"),
        _lab("ldh", limits="inline"),
        _lab("hemoglobin"),
        _lab("calcium"),
        _lab("creatinine"),
        _lab("cystatin_c"),
        _lab("platelets", limits="none"),
        _lab("m_protein", limits="none"),
        _lab("urine_m_protein", limits="none"),
        _lab("flc_kappa"),
        _lab("flc_lambda"),
        _lab("crp"),
        Field("involved_light_chain", "Involved light chain", "choice", (("kappa", "kappa"), ("lambda", "lambda"))),
        Field("isotype", "Heavy-chain isotype", "choice", _choices(Isotype)),
        Field("marrow_plasma_cells_percent", "Clonal bone marrow plasma cells", "number", unit="%"),
        Field("marrow_lymphoplasmacytic_percent", "Lymphoplasmacytic marrow infiltration", "number", unit="%"),
        Field(
            "imaging.osteolytic_lesions",
            "Osteolytic lesions (X-ray, CT, PET-CT)",
            "integer",
            hint="not counting a biopsied index plasmacytoma",
        ),
        Field(
            "imaging.mri_focal_lesions",
            "MRI focal lesions ≥ 5 mm",
            "integer",
            hint="not counting a biopsied index plasmacytoma",
        ),
        Field("imaging.bone_status", "Skeletal survey (Durie–Salmon grade)", "choice", _choices(BoneLesions)),
        Field("imaging.biopsy_proven_plasmacytoma", "Biopsy-proven plasmacytoma", "bool", PRESENT),
        Field("imaging.extramedullary_plasmacytoma", "Extramedullary plasmacytoma", "bool", PRESENT),
        Field("crab_attributable", "CRAB features attributable to the plasma-cell disorder", "bool", YES_NO),
        Field("amyloidosis", "AL amyloidosis", "bool", PRESENT),
        Field("igm_related_features", "IgM-related features (hyperviscosity, nodes, organomegaly)", "bool", PRESENT),
        Field("cytogenetics.del17p", "del(17p)", "bool", PRESENT),
        Field("cytogenetics.del17p_clonal_fraction_percent", "del(17p) clonal fraction", "number", unit="%"),
        Field("cytogenetics.tp53_mutation", "TP53 mutation", "bool", PRESENT),
        Field("cytogenetics.t4_14", "t(4;14)", "bool", PRESENT),
        Field("cytogenetics.t14_16", "t(14;16)", "bool", PRESENT),
        Field("cytogenetics.t14_20", "t(14;20)", "bool", PRESENT),
        Field("cytogenetics.gain1q", "1q+ (gain or amplification)", "bool", PRESENT),
        Field("cytogenetics.amp1q", "1q amplification (≥ 4 copies)", "bool", PRESENT),
        Field("cytogenetics.del1p32", "del(1p32)", "bool", PRESENT),
        Field("cytogenetics.del1p32_biallelic", "del(1p32) biallelic", "bool", YES_NO),
        Field("cytogenetics.del13q", "del(13q)", "bool", PRESENT),
        Field("cytogenetics.cd138_purified", "FISH on CD138-purified plasma cells", "bool", YES_NO),
        Field("cll.ighv_unmutated", "IGHV unmutated", "bool", YES_NO),
        Field("cll.binet_stage", "Binet stage", "choice", (("A", "A"), ("B", "B"), ("C", "C"))),
        Field("cll.rai_stage", "Rai stage (0–4)", "integer"),
        Field("lymphoma.largest_node_diameter_cm", "Largest involved node, longest diameter", "number", unit="cm"),
        Field("lymphoma.bone_marrow_involvement", "Bone marrow involvement", "bool", PRESENT),
        Field("age", "Age", "number", unit="years"),
        Field("sex", "Sex (for the kidney equations)", "choice", _choices(Sex)),
        Field("weight_kg", "Weight (for Cockcroft–Gault)", "number", unit="kg"),
        Field("conditions", "Other conditions", "codes", hint="names or codes, separated by commas"),
        Field("medications", "Medications", "codes", hint="names or codes, separated by commas"),
    )
}

# The fields each patient feature is computed from (b2m.assessment.patient_features).
FEATURE_FIELDS: dict[str, tuple[str, ...]] = {
    "b2m_mg_l": ("labs.b2m",),
    "b2m_upper_limit_mg_l": ("labs.b2m",),
    "albumin_g_dl": ("labs.albumin",),
    "ldh_u_l": ("labs.ldh",),
    "ldh_uln_u_l": ("labs.ldh",),
    "hemoglobin_g_dl": ("labs.hemoglobin",),
    "calcium_mg_dl": ("labs.calcium",),
    "creatinine_mg_dl": ("labs.creatinine",),
    "platelets_10e9_l": ("labs.platelets",),
    "m_protein_g_dl": ("labs.m_protein",),
    "urine_m_protein_mg_24h": ("labs.urine_m_protein",),
    "calcium": ("labs.calcium",),
    "creatinine": ("labs.creatinine",),
    "hemoglobin": ("labs.hemoglobin",),
    "flc_kappa": ("labs.flc_kappa",),
    "flc_lambda": ("labs.flc_lambda",),
    "crcl_ml_min": ("labs.creatinine", "labs.cystatin_c", "age", "sex", "weight_kg"),
    "crcl_estimator": ("labs.creatinine", "labs.cystatin_c"),
    "flc_ratio_involved_uninvolved": ("labs.flc_kappa", "labs.flc_lambda", "involved_light_chain"),
    "plasmacytoma": ("imaging.biopsy_proven_plasmacytoma", "imaging.extramedullary_plasmacytoma"),
    "age_years": ("age",),
    "setting": ("setting",),
    "disease": ("disease",),
    "isotype": ("isotype",),
    "bmpc_percent": ("marrow_plasma_cells_percent",),
    "bm_lymphoplasmacytic_percent": ("marrow_lymphoplasmacytic_percent",),
    "osteolytic_lesions": ("imaging.osteolytic_lesions",),
    "mri_focal_lesions_ge_5mm": ("imaging.mri_focal_lesions",),
    "bone_lesions": ("imaging.bone_status",),
    "crab_attributable": ("crab_attributable",),
    "amyloidosis": ("amyloidosis",),
    "igm_related_features": ("igm_related_features",),
    "del17p": ("cytogenetics.del17p",),
    "del17p_clonal_fraction_percent": ("cytogenetics.del17p_clonal_fraction_percent",),
    "tp53_mutation": ("cytogenetics.tp53_mutation",),
    "t4_14": ("cytogenetics.t4_14",),
    "t14_16": ("cytogenetics.t14_16",),
    "t14_20": ("cytogenetics.t14_20",),
    "gain1q": ("cytogenetics.gain1q", "cytogenetics.amp1q"),
    "del1p32": ("cytogenetics.del1p32", "cytogenetics.del1p32_biallelic"),
    "del13q": ("cytogenetics.del13q",),
    "fish_cd138_purified": ("cytogenetics.cd138_purified",),
    "ighv_unmutated": ("cll.ighv_unmutated",),
    "binet_stage": ("cll.binet_stage",),
    "rai_stage": ("cll.rai_stage",),
    "largest_node_diameter_cm": ("lymphoma.largest_node_diameter_cm",),
    "bone_marrow_involved": ("lymphoma.bone_marrow_involvement",),
}

# What B2M is read against (the interpretation panel): kidney function and the other causes of a raised B2M.
B2M_CONTEXT: tuple[str, ...] = (
    "age",
    "sex",
    "weight_kg",
    "labs.creatinine",
    "labs.cystatin_c",
    "labs.crp",
    "conditions",
    "medications",
)
B2M_FEATURES = frozenset({"b2m_mg_l", "b2m_upper_limit_mg_l"})

_NUMBER = re.compile(r"^[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?$")
_CENSORED = re.compile(r"^(<=|>=|≤|≥|<|>)\s*(.+)$")


def number_of(text: str) -> float | int | None:
    """A number as typed: ``4.2``, ``4,2`` (decimal comma), ``1e3``; ``None`` when it is not one."""
    t = text.strip().replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    if not _NUMBER.match(t):
        return None
    if "," in t:
        if "." in t:
            return None  # 1,234.5 or 1.234,5: ambiguous, refused rather than guessed
        t = t.replace(",", ".")
    value = float(t)
    return int(value) if re.fullmatch(r"[-+]?\d+", t) else value


def lab_value_of(text: str) -> object:
    """A lab value as typed: a number, or a censored text (``<0.5``, ``≥ 20``) kept as the edge reads it."""
    n = number_of(text)
    if n is not None:
        return n
    m = _CENSORED.match(text.strip())
    if m:
        op = {"≤": "<=", "≥": ">="}.get(m.group(1), m.group(1))
        bound = number_of(m.group(2))
        if bound is not None:
            return f"{op}{bound}"
    return text.strip()  # the edge refuses it with its own message


def _set(doc: dict[str, Any], path: str, value: object) -> None:
    parts = path.split(".")
    node = doc
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


@dataclass
class FormInput:
    """A calculator form read into a patient document: the document, the values as entered, and the refusals
    found before the edge (text where a number is needed)."""

    document: dict[str, Any]
    entered: dict[str, str]
    errors: dict[str, str]


def read_form(fields: list[Field], params: Mapping[str, str]) -> FormInput:
    doc: dict[str, Any] = {}
    entered: dict[str, str] = {}
    errors: dict[str, str] = {}
    for f in fields:
        if f.kind == "lab":
            raw = params.get(f"{f.name}.value", "").strip()[:60]
            unit = params.get(f"{f.name}.unit", "") or f.units[0]
            entered[f"{f.name}.value"], entered[f"{f.name}.unit"] = raw, unit[:40]
            lab: dict[str, Any] = {}
            if raw:
                lab = {"value": lab_value_of(raw), "unit": unit[:40]}
            for bound in ("lower_limit", "upper_limit"):
                text = params.get(f"{f.name}.{bound}", "").strip()[:60]
                entered[f"{f.name}.{bound}"] = text
                if text and lab:
                    n = number_of(text)
                    if n is None:
                        errors[f"{f.name}.{bound}"] = "expected a number, in the result's unit"
                    else:
                        lab[bound] = n
            if "lower_limit" in lab and "upper_limit" in lab and lab["lower_limit"] > lab["upper_limit"]:
                # Swapped or mistyped: neither limit can be trusted, so the interval is left out whole (half of it
                # would read the result against a limit the lab did not mean).
                errors[f"{f.name}.lower_limit"] = "the lower limit is above the upper limit: check the interval"
                del lab["lower_limit"], lab["upper_limit"]
            if lab:
                _set(doc, f.name, lab)
            continue
        raw = params.get(f.name, "").strip()[:500]
        entered[f.name] = raw
        if not raw:
            continue
        if f.kind == "bool":
            if raw in ("true", "false"):
                _set(doc, f.name, raw == "true")
        elif f.kind == "choice":
            if raw in {v for v, _ in f.choices}:
                _set(doc, f.name, raw)
            else:
                errors[f.name] = "choose one of the listed values"
        elif f.kind in ("number", "integer"):
            n = number_of(raw)
            if n is None or (f.kind == "integer" and not isinstance(n, int)):
                errors[f.name] = "expected a whole number" if f.kind == "integer" else "expected a number"
            else:
                _set(doc, f.name, n)
        else:  # codes
            items = [c.strip() for c in re.split(r"[,;\n]", raw) if c.strip()]
            _set(doc, f.name, items[:50])
    return FormInput(doc, entered, errors)


def unset(doc: dict[str, Any], path: str) -> bool:
    """Remove ``path`` (or the nearest existing parent of it) from the document; whether anything went."""
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        node: Any = doc
        for p in parts[: n - 1]:
            node = node.get(p) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict) and parts[n - 1] in node:
            del node[parts[n - 1]]
            return True
    return False


def field_of(path: str, names: list[str]) -> str:
    """The form field an edge refusal names (``labs.b2m.value`` -> ``labs.b2m.value``; ``labs.b2m`` -> the
    lab's value box); the first field when nothing matches."""
    if path in names:
        return path
    for suffix in (".value",):
        if path + suffix in names:
            return path + suffix
    best = max((n for n in names if path.startswith(n + ".") or n.startswith(path + ".")), key=len, default=None)
    return best or (names[0] if names else path)


assert set(PatientDocument.model_fields) >= {n.split(".")[0] for n in FIELDS}
