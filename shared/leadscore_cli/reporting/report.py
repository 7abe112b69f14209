"""The calibration report: every figure computed from report rows, as one value the text, JSON and HTML
renderings read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from leadscore_cli.reporting.metrics import (
    Bucket,
    Tally,
    Threshold,
    calibration_bins,
    capacity_threshold,
    conversion_by,
    converted_below,
    deciles,
    lowest_converted,
    quantile,
    roc_auc,
    roc_curve,
    tally,
    value_threshold,
)
from leadscore_cli.reporting.rows import ReportRow
from leadscore_cli.reporting.rule_lift import LeadRules, RuleLift, rule_lift

WEEK = timedelta(days=7)
# Speed to lead: from turning hot to the follow-up, in buckets sales can act on (upper bounds).
SPEED_BUCKETS = (
    ("within 5 minutes", timedelta(minutes=5)),
    ("5 to 60 minutes", timedelta(hours=1)),
    ("1 to 24 hours", timedelta(days=1)),
    ("over 24 hours", timedelta.max),
)
NO_FOLLOW_UP = "no follow-up"


@dataclass(frozen=True)
class ReportOptions:
    """What the rules say (the sales threshold, the bands in order, the rules) and what the team states
    (capacity, value per conversion, cost per contact)."""

    threshold: float | None
    band_order: Sequence[str]
    rule_ids: Sequence[str]
    capacity_per_week: float | None = None
    value: float | None = None
    cost: float | None = None
    open_as_lost: bool = False


@dataclass(frozen=True)
class SpeedToLead:
    turned_hot: int
    followed_up: int
    median_hours: float | None
    p90_hours: float | None
    by_wait: list[tuple[str, Tally]]


@dataclass(frozen=True)
class Report:
    leads: int
    with_outcome: int
    decided: int
    overall: Tally
    auc: float | None
    roc: list[tuple[float, float]]
    by_band: list[tuple[str, Tally]]
    deciles: list[Bucket]
    calibration: list[Bucket]
    threshold: float | None
    converted_below_threshold: int | None
    lowest_converted: float | None
    weeks: float
    capacity: Threshold | None
    best_value: Threshold | None
    monthly: list[tuple[str, str, Tally]]
    rules: list[RuleLift]
    speed: SpeedToLead
    options: ReportOptions
    warnings: list[str] = field(default_factory=list)


def build_report(rows: Sequence[ReportRow], options: ReportOptions) -> Report:
    decided = [row for row in rows if row.decided or options.open_as_lost]
    scores = [row.score for row in decided]
    converted = [row.converted for row in decided]
    weeks = _weeks(rows)
    return Report(
        leads=len(rows),
        with_outcome=sum(1 for row in rows if row.decided),
        decided=len(decided),
        overall=tally(converted),
        auc=roc_auc(scores, converted),
        roc=roc_curve(scores, converted),
        by_band=_ordered(conversion_by((row.band, row.converted) for row in decided), options.band_order),
        deciles=deciles(scores, converted),
        calibration=calibration_bins(scores, converted),
        threshold=options.threshold,
        converted_below_threshold=(
            converted_below(scores, converted, options.threshold) if options.threshold is not None else None
        ),
        lowest_converted=lowest_converted(scores, converted),
        weeks=weeks,
        capacity=(
            capacity_threshold(
                [row.score for row in rows],
                [row.converted for row in rows],
                weeks=weeks,
                capacity_per_week=options.capacity_per_week,
            )
            if options.capacity_per_week is not None
            else None
        ),
        best_value=(
            value_threshold(scores, converted, value=options.value, cost=options.cost or 0.0)
            if options.value is not None
            else None
        ),
        monthly=_monthly(decided, options.band_order),
        rules=rule_lift(
            [LeadRules(row.rules, row.score, row.converted) for row in decided], options.rule_ids
        ),
        speed=_speed(rows, options.open_as_lost),
        options=options,
        warnings=_warnings(rows, decided, converted),
    )


def _weeks(rows: Sequence[ReportRow]) -> float:
    """The weeks the leads came in over (at least one)."""
    if not rows:
        return 1.0
    times = [row.came_in for row in rows]
    return max((max(times) - min(times)) / WEEK, 1.0)


def _ordered(found: dict[str, Tally], order: Sequence[str]) -> list[tuple[str, Tally]]:
    rank = {name: index for index, name in enumerate(order)}
    return sorted(found.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))


def _monthly(decided: Sequence[ReportRow], order: Sequence[str]) -> list[tuple[str, str, Tally]]:
    """Conversion by the month the leads came in, and their band."""
    rank = {name: index for index, name in enumerate(order)}
    found = conversion_by(((f"{row.came_in:%Y-%m}", row.band), row.converted) for row in decided)
    ordered = sorted(
        found.items(), key=lambda item: (item[0][0], rank.get(item[0][1], len(rank)), item[0][1])
    )
    return [(month, band, counted) for (month, band), counted in ordered]


def waited(row: ReportRow) -> timedelta | None:
    """From turning hot to the follow-up recorded after it; None when none was recorded since."""
    if row.turned_hot_at is None or row.followed_up_at is None or row.followed_up_at < row.turned_hot_at:
        return None
    return row.followed_up_at - row.turned_hot_at


def wait_bucket(wait: timedelta | None) -> str:
    if wait is None:
        return NO_FOLLOW_UP
    return next(label for label, bound in SPEED_BUCKETS if wait <= bound)


def _speed(rows: Sequence[ReportRow], open_as_lost: bool) -> SpeedToLead:
    hot = [row for row in rows if row.turned_hot_at is not None]
    waits = [wait for wait in map(waited, hot) if wait is not None]
    hours = [wait / timedelta(hours=1) for wait in waits]
    found = conversion_by(
        (wait_bucket(waited(row)), row.converted) for row in hot if row.decided or open_as_lost
    )
    labels = [label for label, _ in SPEED_BUCKETS] + [NO_FOLLOW_UP]
    return SpeedToLead(
        turned_hot=len(hot),
        followed_up=len(waits),
        median_hours=quantile(hours, 0.5),
        p90_hours=quantile(hours, 0.9),
        by_wait=[(label, found[label]) for label in labels if label in found],
    )


def _warnings(
    rows: Sequence[ReportRow], decided: Sequence[ReportRow], converted: Sequence[bool]
) -> list[str]:
    warnings = []
    if not decided:
        warnings.append("no lead has an outcome yet: record outcomes (leadscore outcomes import) first")
    elif all(converted):
        warnings.append(
            "every lead with an outcome converted (no lost leads recorded): rates and AUC say nothing; "
            "record lost leads, or count leads without an outcome as not converted (--open-as-lost)"
        )
    elif not any(converted):
        warnings.append("no lead with an outcome converted: rates and AUC say nothing yet")
    if 0 < len(decided) < 30:
        warnings.append(f"only {len(decided)} leads have an outcome: every figure is rough")
    if len(rows) > len(decided):
        warnings.append(
            f"{len(rows) - len(decided)} leads have no outcome yet and are left out of conversion"
        )
    return warnings


def as_json(report: Report) -> dict[str, Any]:
    """The report for machines: rates as fractions, times in hours."""
    return {
        "leads": report.leads,
        "with_outcome": report.with_outcome,
        "decided": report.decided,
        "converted": report.overall.converted,
        "conversion_rate": report.overall.rate,
        "roc_auc": report.auc,
        "by_band": [{"band": band, **_tally(counted)} for band, counted in report.by_band],
        "deciles": [
            {"decile": index + 1, **_bucket(bucket), "lift": bucket.tally.lift(report.overall.rate)}
            for index, bucket in enumerate(report.deciles)
        ],
        "calibration": [_bucket(bucket) for bucket in report.calibration],
        "roc_curve": [list(point) for point in report.roc],
        "threshold": report.threshold,
        "converted_below_threshold": report.converted_below_threshold,
        "suggested_thresholds": {
            "lowest_converted": report.lowest_converted,
            "capacity": _threshold(report.capacity),
            "best_value": _threshold(report.best_value),
        },
        "weeks": report.weeks,
        "monthly": [
            {"month": month, "band": band, **_tally(counted)} for month, band, counted in report.monthly
        ],
        "rules": [
            {
                "rule": lift.rule,
                "mean_points": lift.mean_points,
                "fired": lift.fired.leads,
                "converted": lift.fired.converted,
                "conversion_rate": lift.fired.rate,
                "conversion_rate_without": lift.not_fired.rate,
                "lift": lift.lift,
                "expected_rate": lift.expected_rate,
                "flags": list(lift.flags),
            }
            for lift in report.rules
        ],
        "speed_to_lead": {
            "turned_hot": report.speed.turned_hot,
            "followed_up": report.speed.followed_up,
            "median_hours": report.speed.median_hours,
            "p90_hours": report.speed.p90_hours,
            "by_wait": [{"wait": label, **_tally(counted)} for label, counted in report.speed.by_wait],
        },
        "warnings": report.warnings,
    }


def _tally(counted: Tally) -> dict[str, Any]:
    return {"leads": counted.leads, "converted": counted.converted, "conversion_rate": counted.rate}


def _bucket(bucket: Bucket) -> dict[str, Any]:
    return {"low": bucket.low, "high": bucket.high, "mean_score": bucket.mean_score, **_tally(bucket.tally)}


def _threshold(threshold: Threshold | None) -> dict[str, Any] | None:
    if threshold is None:
        return None
    return {
        "score": threshold.score,
        "contacted": threshold.contacted.leads,
        "converted": threshold.contacted.converted,
        "per_week": threshold.per_week,
        "net_value": threshold.net_value,
    }
