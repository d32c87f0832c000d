"""PNG charts for the weekly summary, drawn with matplotlib's Agg backend (no display).

Figures are built with ``matplotlib.figure.Figure`` and an Agg canvas directly instead of
``pyplot``: pyplot keeps global figure state, which two summaries rendered at once in one
process would share. The words on the charts arrive already translated.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.services.reports.metrics import DayMetrics

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

OFFICE_COLOR = "#1f77b4"
OVER_COLOR = "#d62728"
QUOTA_COLOR = "#d62728"
EXPECTED_COLOR = "#c7c7c7"
SUBMITTED_COLOR = "#2ca02c"
ON_TIME_COLOR = "#2ca02c"
LATE_COLOR = "#ff7f0e"


@dataclass(frozen=True, slots=True)
class ChartTexts:
    office_title: str
    office_label: str
    quota_label: str
    reports_title: str
    reports_expected: str
    reports_submitted: str
    tasks_title: str
    tasks_on_time: str
    tasks_late: str
    people_axis: str
    tasks_axis: str


@dataclass(frozen=True, slots=True)
class Chart:
    filename: str
    png: bytes


def _figure() -> tuple[Figure, Axes]:
    # Imported on first use: matplotlib takes about a second to import, which every start of
    # the bot (and every restart of a sending process) would otherwise pay for a weekly chart.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 4.0), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _labels(days: Sequence[DayMetrics]) -> list[str]:
    return [d.day.strftime("%d/%m") for d in days]


def office_chart(days: Sequence[DayMetrics], texts: ChartTexts) -> bytes:
    """People at the office per day as bars, the quota as a line; days over it in red."""
    figure, axes = _figure()
    x = list(range(len(days)))
    colors = [OVER_COLOR if d.over_capacity else OFFICE_COLOR for d in days]
    axes.bar(x, [d.at_office for d in days], color=colors, label=texts.office_label)
    capacities = [d.capacity for d in days]
    if any(c is not None for c in capacities):
        # A step line: the quota can change from one day to the next with the headcount.
        levels = [float("nan") if c is None else c for c in capacities]
        axes.step(
            [i - 0.5 for i in x] + [len(x) - 0.5],
            [*levels, levels[-1]],
            where="post",
            color=QUOTA_COLOR,
            linestyle="--",
            linewidth=2,
            label=texts.quota_label,
        )
    highest_quota = max((c for c in capacities if c is not None), default=0)
    _finish(axes, x, days, texts.office_title, texts.people_axis, floor=highest_quota)
    return _png(figure)


def reports_chart(days: Sequence[DayMetrics], texts: ChartTexts) -> bytes:
    figure, axes = _figure()
    x = list(range(len(days)))
    axes.bar(
        x,
        [d.reports_expected for d in days],
        color=EXPECTED_COLOR,
        width=0.8,
        label=texts.reports_expected,
    )
    axes.bar(
        x,
        [d.reports_submitted for d in days],
        color=SUBMITTED_COLOR,
        width=0.5,
        label=texts.reports_submitted,
    )
    _finish(axes, x, days, texts.reports_title, texts.people_axis)
    return _png(figure)


def tasks_chart(days: Sequence[DayMetrics], texts: ChartTexts) -> bytes:
    figure, axes = _figure()
    x = list(range(len(days)))
    on_time = [d.tasks_done_on_time for d in days]
    axes.bar(x, on_time, color=ON_TIME_COLOR, label=texts.tasks_on_time)
    axes.bar(
        x,
        [d.tasks_done_late for d in days],
        bottom=on_time,
        color=LATE_COLOR,
        label=texts.tasks_late,
    )
    _finish(axes, x, days, texts.tasks_title, texts.tasks_axis)
    return _png(figure)


def _finish(
    axes: Axes,
    x: list[int],
    days: Sequence[DayMetrics],
    title: str,
    y_label: str,
    *,
    floor: float = 0,
) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.set_title(title)
    axes.set_ylabel(y_label)
    axes.set_xticks(x, _labels(days))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    # Headroom above the tallest bar keeps the legend off the data.
    top = max((bar.get_y() + bar.get_height() for bar in axes.patches), default=0)  # type: ignore[attr-defined]
    top = max(top, floor)
    axes.set_ylim(0, max(1.0, top * 1.3 + 0.5))
    if x:
        axes.set_xlim(-0.6, len(x) - 0.4)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left", fontsize="small", ncols=2)


def weekly_charts(days: Sequence[DayMetrics], texts: ChartTexts, stem: str) -> list[Chart]:
    """The three charts of a weekly summary, for the working days (and days worked anyway)."""
    shown = list(days)
    return [
        Chart(f"{stem}-office.png", office_chart(shown, texts)),
        Chart(f"{stem}-reports.png", reports_chart(shown, texts)),
        Chart(f"{stem}-tasks.png", tasks_chart(shown, texts)),
    ]
