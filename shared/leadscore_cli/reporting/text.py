"""The report as a text summary for a terminal."""

from __future__ import annotations

from leadscore_cli.reporting.metrics import Tally, Threshold
from leadscore_cli.reporting.report import Report


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def points(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def score_range(low: float, high: float) -> str:
    return points(low) if low == high else f"{points(low)} to {points(high)}"


def duration(hours: float | None) -> str:
    """A wait as people say it: seconds, minutes, hours or days."""
    if hours is None:
        return "-"
    if hours < 1 / 60:
        return f"{hours * 3600:.0f} s"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def render_text(report: Report, source: str) -> str:
    overall = report.overall
    lines = [
        f"calibration report: {source}",
        f"  {report.leads:,} leads, {report.with_outcome:,} with an outcome"
        + (
            f" (the other {report.decided - report.with_outcome:,} counted as not converted)"
            if report.decided > report.with_outcome
            else ""
        )
        + f", {overall.converted:,} converted ({percent(overall.rate)})",
        f"  ROC AUC {number(report.auc, 3)}  (0.5: no better than chance; 1: every converted lead scores "
        "above every other)",
        *(f"  ! {warning}" for warning in report.warnings),
        "",
        "conversion by band",
        _row("band", "leads", "converted", "rate", "lift"),
        *(_tally_row(band, counted, overall.rate) for band, counted in report.by_band),
        "",
        "conversion by score decile (highest scores first; tied scores stay in one decile; captured: the "
        "share of all conversions in this decile and those above)",
        _row("decile", "scores", "leads", "converted", "rate", "lift", "captured"),
    ]
    captured = 0
    for index, bucket in enumerate(report.deciles, start=1):
        captured += bucket.tally.converted
        share = captured / overall.converted if overall.converted else None
        lines.append(
            _row(
                str(index),
                score_range(bucket.low, bucket.high),
                str(bucket.tally.leads),
                str(bucket.tally.converted),
                percent(bucket.tally.rate),
                number(bucket.tally.lift(overall.rate)),
                percent(share),
            )
        )
    lines += ["", *_thresholds(report), "", *_monthly(report), "", *_rules(report), "", *_speed(report)]
    return "\n".join(lines)


def _thresholds(report: Report) -> list[str]:
    lines = []
    if report.threshold is not None:
        lines.append(
            f"sales threshold {points(report.threshold)} points: {report.converted_below_threshold} of "
            f"{report.overall.converted} converted leads scored below it"
        )
    options = report.options
    suggested = [("lowest score among converted leads", points(report.lowest_converted))]
    if options.capacity_per_week is not None:
        suggested.append(
            (
                f"fits {options.capacity_per_week:g} contacts a week",
                _threshold(report.capacity, f"a week over {report.weeks:.1f} weeks of leads"),
            )
        )
    if options.value is not None:
        suggested.append(
            (
                f"best value ({options.value:g} a conversion, {options.cost or 0:g} a contact)",
                _threshold(report.best_value, "net value"),
            )
        )
    return [*lines, "suggested thresholds", *(f"  {label:<48}{value}" for label, value in suggested)]


def _threshold(threshold: Threshold | None, what: str) -> str:
    if threshold is None:
        return "none (see docs/report.md)"
    contacted = threshold.contacted
    detail = (
        f"{threshold.per_week:.1f} {what}"
        if threshold.per_week is not None
        else f"{what} {threshold.net_value:,.0f}"
    )
    return (
        f"{points(threshold.score)}  ({contacted.leads} leads at or above, "
        f"{contacted.converted} converted; {detail})"
    )


def _monthly(report: Report) -> list[str]:
    bands = list(dict.fromkeys(band for _, band, _ in report.monthly))
    months = list(dict.fromkeys(month for month, _, _ in report.monthly))
    cells = {(month, band): counted for month, band, counted in report.monthly}
    lines = [
        "conversion by band, month by month (by the month leads came in: converted/leads rate)",
        "  " + f"{'month':<9}" + "".join(f"{band:>18}" for band in bands),
    ]
    for month in months:
        row = "".join(f"{_cell(cells.get((month, band))):>18}" for band in bands)
        lines.append(f"  {month:<9}{row}")
    return lines


def _cell(counted: Tally | None) -> str:
    if counted is None:
        return "-"
    return f"{counted.converted}/{counted.leads} {percent(counted.rate)}"


def _rules(report: Report) -> list[str]:
    lines = [
        "rules (on leads with an outcome: points given, leads it fired on, their conversion, lift over all "
        "leads, and what their scores predict)",
        "  " + f"{'rule':<28}{'points':>8}{'fired':>7}{'rate':>8}{'lift':>7}{'expected':>10}  flags",
    ]
    for lift in report.rules:
        lines.append(
            f"  {lift.rule:<28}{number(lift.mean_points, 1):>8}{lift.fired.leads:>7}"
            f"{percent(lift.fired.rate):>8}{number(lift.lift):>7}{percent(lift.expected_rate):>10}  "
            + "; ".join(lift.flags)
        )
    return lines


def _speed(report: Report) -> list[str]:
    speed = report.speed
    lines = [
        f"speed to lead: {speed.turned_hot} leads turned hot, {speed.followed_up} followed up after; "
        f"median wait {duration(speed.median_hours)}, 90% within {duration(speed.p90_hours)}",
        _row("wait", "leads", "converted", "rate", "lift"),
    ]
    lines += [_tally_row(label, counted, report.overall.rate) for label, counted in speed.by_wait]
    return lines


def _tally_row(label: str, counted: Tally, base: float | None) -> str:
    return _row(
        label, str(counted.leads), str(counted.converted), percent(counted.rate), number(counted.lift(base))
    )


def _row(first: str, *rest: str) -> str:
    return f"  {first:<18}" + "".join(f"{cell:>14}" for cell in rest)
