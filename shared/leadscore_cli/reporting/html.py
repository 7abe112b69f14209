"""The report as one self-contained HTML file: the figures as tables and inline SVG plots."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from leadscore_cli.reporting.metrics import Tally, Threshold
from leadscore_cli.reporting.report import Report
from leadscore_cli.reporting.svg import Series, bar_chart, hbar_chart, line_chart, plain
from leadscore_cli.reporting.text import duration, number, percent, points, score_range

STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1180px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
.figures { display: flex; gap: 2em; flex-wrap: wrap; }
.figure { font-size: 1.6em; font-weight: bold; }
.figure small { display: block; font-size: .5em; color: #666; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
table { border-collapse: collapse; margin: .5em 0; font-size: .9em; }
th, td { padding: .25em .7em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.warning { color: #a04000; } .flag { color: #a04000; }
"""


def render_html(report: Report, source: str) -> str:
    overall = report.overall
    figures = [
        ("leads", f"{report.leads:,}"),
        ("with an outcome", f"{report.with_outcome:,}"),
        ("converted", f"{overall.converted:,} ({percent(overall.rate)})"),
        ("ROC AUC", number(report.auc, 3)),
        ("converted below the threshold", str(report.converted_below_threshold)),
    ]
    parts = [
        f"<h1>Calibration report</h1><p>{escape(source)}</p>",
        '<div class="figures">'
        + "".join(
            f'<div class="figure">{escape(value)}<small>{escape(name)}</small></div>'
            for name, value in figures
        )
        + "</div>",
        *(f'<p class="warning">{escape(warning)}</p>' for warning in report.warnings),
        '<div class="plots">',
        _band_plot(report),
        _calibration_plot(report),
        _roc_plot(report),
        _decile_plot(report),
        "</div>",
        "<h2>Conversion by band</h2>",
        _table(
            ["band", "leads", "converted", "rate", "lift"],
            [_tally_cells(b, t, overall.rate) for b, t in report.by_band],
        ),
        "<h2>Conversion by score decile (highest first)</h2>",
        _table(
            ["decile", "scores", "leads", "converted", "rate", "lift"],
            [
                [str(i), score_range(b.low, b.high), *_tally_cells("", b.tally, overall.rate)[1:]]
                for i, b in enumerate(report.deciles, start=1)
            ],
        ),
        "<h2>Thresholds</h2>",
        _thresholds(report),
        "<h2>Conversion by band, month by month</h2>",
        _monthly(report),
        "<h2>Rules</h2>",
        _rule_plot(report),
        _rules_table(report),
        "<h2>Speed to lead</h2>",
        f"<p>{report.speed.turned_hot} leads turned hot, {report.speed.followed_up} were followed up after: "
        f"median wait {duration(report.speed.median_hours)}, "
        f"90% within {duration(report.speed.p90_hours)}.</p>",
        _table(
            ["wait", "leads", "converted", "rate", "lift"],
            [_tally_cells(label, counted, overall.rate) for label, counted in report.speed.by_wait],
        ),
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>leadscore calibration report</title>"
        f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def _band_plot(report: Report) -> str:
    return bar_chart(
        "Conversion by band",
        [band for band, _ in report.by_band],
        [counted.rate for _, counted in report.by_band],
        [f"n={counted.leads}" for _, counted in report.by_band],
        x_label="band at the outcome (dashed: all leads)",
        y_label="converted",
        reference=report.overall.rate,
    )


def _calibration_plot(report: Report) -> str:
    buckets = report.calibration
    low = min((b.mean_score for b in buckets), default=0.0)
    high = max((b.mean_score for b in buckets), default=1.0)
    return line_chart(
        "Calibration: conversion by score",
        [
            Series(
                "conversion",
                [(b.mean_score, b.tally.rate or 0.0) for b in buckets],
                notes=[f"n={b.tally.leads}" for b in buckets],
            )
        ],
        x_label="score (mean of each equal-width range)",
        y_label="converted",
        x_range=(min(low, 0.0), high if high > low else low + 1),
        x_format=lambda value: f"{value:.0f}",
    )


def _roc_plot(report: Report) -> str:
    return line_chart(
        f"ROC curve (AUC {number(report.auc, 3)})",
        [Series("score", report.roc)],
        x_label="share of other leads above the threshold",
        y_label="share of converted leads above",
        x_range=(0.0, 1.0),
        x_format=lambda value: f"{value:.0%}",
        diagonal=True,
    )


def _decile_plot(report: Report) -> str:
    return bar_chart(
        "Lift by score decile",
        [str(index) for index in range(1, len(report.deciles) + 1)],
        [bucket.tally.lift(report.overall.rate) for bucket in report.deciles],
        [f"n={bucket.tally.leads}" for bucket in report.deciles],
        x_label="decile (1: highest scores)",
        y_label="lift (conversion over the average)",
        y_format=lambda value: f"{value:.1f}",
        y_top=None,
        reference=1.0,
    )


def _rule_plot(report: Report) -> str:
    fired = [lift for lift in report.rules if lift.lift is not None]
    return hbar_chart(
        "Rule lift (conversion where the rule fired, over the average)",
        [lift.rule for lift in fired],
        [lift.lift or 0.0 for lift in fired],
        [f"{number(lift.lift)} (n={lift.fired.leads})" for lift in fired],
        [bool(lift.flags) for lift in fired],
        x_label="lift (orange: flagged below)",
    )


def _thresholds(report: Report) -> str:
    options = report.options
    rows = [["lowest score among converted leads", points(report.lowest_converted), "", "", ""]]
    if options.capacity_per_week is not None:
        rows.append(
            _threshold_row(
                f"fits {options.capacity_per_week:g} contacts a week",
                report.capacity,
                f"{number(report.capacity.per_week, 1) if report.capacity else '-'} a week",
            )
        )
    if options.value is not None:
        rows.append(
            _threshold_row(
                f"best value ({options.value:g} a conversion, {options.cost or 0:g} a contact)",
                report.best_value,
                f"net {number(report.best_value.net_value, 0) if report.best_value else '-'}",
            )
        )
    intro = (
        f"<p>Sales threshold {points(report.threshold)} points: {report.converted_below_threshold} of "
        f"{report.overall.converted} converted leads scored below it.</p>"
    )
    return intro + _table(["suggested threshold", "score", "leads at or above", "converted", ""], rows)


def _threshold_row(label: str, threshold: Threshold | None, detail: str) -> list[str]:
    if threshold is None:
        return [label, "none", "", "", ""]
    contacted = threshold.contacted
    return [label, points(threshold.score), str(contacted.leads), str(contacted.converted), detail]


def _monthly(report: Report) -> str:
    bands = list(dict.fromkeys(band for _, band, _ in report.monthly))
    months = list(dict.fromkeys(month for month, _, _ in report.monthly))
    cells = {(month, band): counted for month, band, counted in report.monthly}
    rows = [[month, *(_cell(cells.get((month, band))) for band in bands)] for month in months]
    series = [
        Series(
            band,
            [
                (index, cells[(month, band)].rate or 0.0)
                for index, month in enumerate(months)
                if (month, band) in cells
            ],
            colour=colour,
        )
        for band, colour in zip(bands, ("#3b6fb6", "#d9822b", "#3a9a5b", "#8e44ad", "#7f8c8d"), strict=False)
    ]
    plot = line_chart(
        "Conversion by band, month by month",
        series,
        x_label="month the leads came in (" + (f"{months[0]} to {months[-1]}" if months else "none") + ")",
        y_label="converted",
        x_range=(0.0, max(len(months) - 1, 1)),
        x_format=lambda value: months[int(value)] if value == int(value) and int(value) < len(months) else "",
    )
    return plot + _table(["month", *bands], rows)


def _cell(counted: Tally | None) -> str:
    return "" if counted is None else f"{counted.converted}/{counted.leads} ({percent(counted.rate)})"


def _rules_table(report: Report) -> str:
    rows = [
        [
            lift.rule,
            number(lift.mean_points, 1),
            str(lift.fired.leads),
            percent(lift.fired.rate),
            number(lift.lift),
            percent(lift.expected_rate),
            '<span class="flag">' + escape("; ".join(lift.flags)) + "</span>",
        ]
        for lift in report.rules
    ]
    return _table(["rule", "points", "fired", "rate", "lift", "expected", "flags"], rows, raw_last=True)


def _tally_cells(label: str, counted: Tally, base: float | None) -> list[str]:
    return [
        label,
        str(counted.leads),
        str(counted.converted),
        percent(counted.rate),
        number(counted.lift(base)),
    ]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, raw_last: bool = False) -> str:
    head = "".join(f"<th>{escape(name)}</th>" for name in header)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{cell if raw_last and index == len(row) - 1 else escape(cell)}</td>"
            for index, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


__all__ = ["plain", "render_html"]
