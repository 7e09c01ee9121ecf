"""Trend charts of the reports: matplotlib (Agg, no pyplot state) rendered to inline SVG.

Each chart is returned as an ``<svg>`` element ready to be placed in an HTML page: no XML prolog, no
DOCTYPE (whose DTD address would be an external reference), no metadata, no global style sheet, and
every ``id`` prefixed with the chart's key so that several charts can share one page. Text is drawn
as paths, so the chart looks the same offline, in any browser and in the PDF, without fonts.

The series come from two places: the monitor's output (B2M with the eGFR at each date,
``kinetics.b2m.points``) and the patient's series as read at the edge (:class:`PatientSeries`, every
value already in its canonical unit).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import matplotlib
from matplotlib import dates as mdates
from matplotlib import ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from b2m.monitor.series import PatientSeries
from b2m.units import Censored

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
GREY = "#6b6b6b"

CHART_SIZE_IN = (6.6, 2.5)


@dataclass(frozen=True, slots=True)
class Point:
    """One dated value in the canonical unit. ``censored`` keeps ``"<0.5"`` as reported (canonical)."""

    date: dt.date
    value: float
    censored: str | None = None


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    points: tuple[Point, ...]
    color: str = BLUE
    marker: str = "o"


@dataclass(frozen=True, slots=True)
class Chart:
    """What to draw. ``description`` is the chart's text alternative (screen readers, no-image mail)."""

    key: str
    title: str
    ylabel: str
    lines: tuple[Line, ...]
    description: str
    band: tuple[float, float] | None = None  # shaded range, e.g. the lab's reference interval
    band_label: str | None = None
    hlines: tuple[tuple[float, str], ...] = ()  # dotted reference lines with their labels
    events: tuple[tuple[dt.date, str], ...] = ()  # dashed vertical lines (therapy lines, progression)
    log_y: bool = False
    y_from_zero: bool = True
    large_text: bool = False  # the patient report's charts: larger labels

    @property
    def has_data(self) -> bool:
        return any(line.points for line in self.lines)


@dataclass(frozen=True, slots=True)
class SeriesSet:
    """The patient's dated lab series in canonical units, as far as the charts need them."""

    by_key: Mapping[str, tuple[Point, ...]] = field(default_factory=dict)
    limits: Mapping[str, tuple[float | None, float | None, dt.date | None]] = field(default_factory=dict)
    mixed_limits: frozenset[str] = frozenset()  # keys whose results give more than one reference interval

    def get(self, key: str) -> tuple[Point, ...]:
        return self.by_key.get(key, ())

    def band(self, key: str) -> tuple[float | None, float | None, dt.date | None] | None:
        """The reference interval to draw across the whole chart: only when every result that gives one gives the
        same (results of another lab or method are never drawn against an interval they were not reported with)."""
        if key in self.mixed_limits:
            return None
        return self.limits.get(key)


CHARTED_LABS: tuple[str, ...] = ("b2m", "m_protein", "urine_m_protein", "flc_kappa", "flc_lambda", "creatinine")


def _point(value: float | Censored, date: dt.date) -> Point:
    if isinstance(value, Censored):
        return Point(date, value.bound, str(value))
    return Point(date, value)


def series_from_patient(series: PatientSeries) -> SeriesSet:
    """The charted series of one patient (canonical units, read at the edge), sorted by date.

    The latest entry that gives a reference interval supplies the band drawn on the chart (with its date).
    """
    by_key: dict[str, tuple[Point, ...]] = {}
    limits: dict[str, tuple[float | None, float | None, dt.date | None]] = {}
    mixed: set[str] = set()
    for key in CHARTED_LABS:
        points: list[Point] = []
        seen: set[tuple[float | None, float | None]] = set()
        for lab in series.lab(key):
            if lab.date is None:
                continue
            points.append(_point(lab.value, lab.date))
            if lab.lower_limit is not None or lab.upper_limit is not None:
                seen.add((lab.lower_limit, lab.upper_limit))
                prev = limits.get(key)
                if prev is None or (prev[2] or dt.date.min) <= lab.date:
                    limits[key] = (lab.lower_limit, lab.upper_limit, lab.date)
        by_key[key] = tuple(sorted(points, key=lambda p: p.date))
        if len(seen) > 1:
            mixed.add(key)
    return SeriesSet(by_key, limits, frozenset(mixed))


def points_from_monitor(doc: Mapping[str, Any], value_key: str) -> tuple[Point, ...]:
    """``kinetics.b2m.points`` of the monitor output as points of ``value_key`` (nulls skipped)."""
    kinetics = (doc.get("kinetics") or {}).get("b2m") or {}
    out = []
    for p in kinetics.get("points") or []:
        v = p.get(value_key)
        if isinstance(v, int | float) and not isinstance(v, bool) and p.get("date"):
            out.append(Point(dt.date.fromisoformat(p["date"]), float(v)))
        elif isinstance(v, str) and p.get("date"):  # a censored value kept as text ("<0.5")
            m = re.fullmatch(r"\s*(<=|>=|<|>)\s*([0-9.]+)\s*", v)
            if m:
                out.append(Point(dt.date.fromisoformat(p["date"]), float(m.group(2)), v.strip()))
    return tuple(sorted(out, key=lambda p: p.date))


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------

_ID_PATTERNS = (
    re.compile(r'(\bid=")([^"]+)(")'),
    re.compile(r'(href="#)([^"]+)(")'),
    re.compile(r"(url\(#)([^)]+)(\))"),
)


def _scoped(svg: str, prefix: str) -> str:
    """Make the SVG an inline element: drop prolog, DOCTYPE, metadata and global CSS; prefix ids."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'<style type="text/css">.*?</style>\s*', "", svg, flags=re.S)
    for pat in _ID_PATTERNS:
        svg = pat.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}{m.group(3)}", svg)
    return svg.strip()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _x(d: dt.date) -> float:
    """A date as matplotlib's day number (what its date locators and formatters read)."""
    return float(mdates.date2num(d))  # type: ignore[no-untyped-call]  # matplotlib leaves it unannotated


def render_svg(chart: Chart) -> str:
    """The chart as an inline ``<svg>`` element with a ``<title>`` text alternative."""
    fs_small, fs_label, fs_title = (9, 10, 12) if chart.large_text else (7, 8, 10)
    fig = Figure(figsize=CHART_SIZE_IN, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)  # the Agg backend, attached to this figure only: no pyplot, no global state
    ax = fig.add_subplot()
    dates_all: list[dt.date] = []
    for line in chart.lines:
        if not line.points:
            continue
        dates_all += [p.date for p in line.points]
        xs = [_x(p.date) for p in line.points]
        ys = [p.value for p in line.points]
        ax.plot(xs, ys, color=line.color, linewidth=1.8, label=line.label, zorder=3)
        exact = [p for p in line.points if p.censored is None]
        censored = [p for p in line.points if p.censored is not None]
        if exact:
            ax.scatter(
                [_x(p.date) for p in exact],
                [p.value for p in exact],
                color=line.color,
                marker=line.marker,
                s=22,
                zorder=4,
            )
        if censored:
            ax.scatter(
                [_x(p.date) for p in censored],
                [p.value for p in censored],
                facecolors="white",
                edgecolors=line.color,
                marker=line.marker,
                s=28,
                zorder=4,
                label=f"{line.label}: below or above the lab's limit (plotted at the limit)",
            )
    if chart.band is not None:
        ax.axhspan(*chart.band, color=GREEN, alpha=0.12, zorder=1, label=chart.band_label)
    for y, label in chart.hlines:
        ax.axhline(y, color=GREY, linestyle=":", linewidth=1.0, zorder=2)
        ax.annotate(
            label,
            xy=(1.0, y),
            xycoords=("axes fraction", "data"),
            xytext=(-2, 2),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=fs_small,
            color=GREY,
        )
    first, last = (min(dates_all), max(dates_all)) if dates_all else (None, None)
    for when, label in chart.events:  # labelled at the foot, clear of the reference-line labels
        if first is None or last is None or not first <= when <= last:
            continue  # an event outside this chart's results says nothing about them
        ax.axvline(_x(when), color=GREY, linestyle="--", linewidth=0.9, zorder=2)
        ax.annotate(
            label,
            xy=(_x(when), 0.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, 2),
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize=fs_small,
            color=GREY,
            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
            zorder=5,
        )
    if chart.log_y:
        ax.set_yscale("log")
        plain = ticker.FuncFormatter(lambda v, _pos: f"{v:g}")  # 10, 20, 50, not 10^1
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_locator(ticker.LogLocator(subs=(2.0, 5.0)))
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize=fs_small)
    elif chart.y_from_zero:
        ax.set_ylim(bottom=0)
    ax.set_title(chart.title, loc="left", fontsize=fs_title, fontweight="bold")
    ax.set_ylabel(chart.ylabel, fontsize=fs_label)
    ax.tick_params(labelsize=fs_small)
    ax.grid(True, axis="y", color="#dddddd", linewidth=0.6, zorder=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    if len(set(dates_all)) == 1:  # one date: give the axis some width around it
        d = dates_all[0]
        ax.set_xlim(_x(d - dt.timedelta(days=30)), _x(d + dt.timedelta(days=30)))
    handles, labels = ax.get_legend_handles_labels()
    if len(labels) > 1:  # one line needs no legend: the title names it
        fig.legend(
            handles, labels, fontsize=fs_small, frameon=False, loc="outside lower center", ncols=min(len(labels), 3)
        )
    return figure_svg(fig, f"chart-{chart.key}", title=chart.description, css_class="chart")


def figure_svg(
    fig: Figure,
    prefix: str,
    *,
    title: str | None = None,
    label: str | None = None,
    css_class: str | None = None,
    namespaces: bool = True,
) -> str:
    """A matplotlib figure as an inline ``<svg>`` element: the one way every report draws (monitoring
    charts and the cohort report's figures).

    No prolog, DOCTYPE, metadata or global style sheet; every id prefixed with ``prefix`` so several
    figures share a page; a fixed hash salt so the same figure gives the same SVG. Its text
    alternative is a ``<title>`` (``title``, referenced by ``aria-labelledby``) or an ``aria-label``
    (``label``). ``namespaces=False`` also drops the ``xmlns`` attributes (an HTML parser needs none,
    and a page that must hold no address at all keeps none).
    """
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": prefix, "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    svg = _scoped(buf.getvalue(), prefix)
    if not namespaces:
        svg = re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", svg)
    head, rest = svg.split(">", 1)
    attrs = ' role="img"'
    if label is not None:
        attrs += f' aria-label="{_escape(label)}"'
    if title is not None:
        attrs += f' aria-labelledby="{prefix}-title"'
        rest = f'<title id="{prefix}-title">{_escape(title)}</title>{rest}'
    if css_class:
        attrs += f' class="{css_class}"'
    return f"<svg{attrs}{head.removeprefix('<svg')}>{rest}"
