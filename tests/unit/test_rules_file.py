"""The rule file: the default one is valid, and every kind of mistake is reported with its line and field."""

from __future__ import annotations

import pytest

from leadscore.rules import DEFAULT_RULES_FILE, RuleFileError, load_rules, parse_rules
from tests.rulesets import SMALL_RULES, small_rules


def problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(RuleFileError) as raised:
        parse_rules(text, "broken.yaml")
    return [(error.line, error.field, error.message) for error in raised.value.errors]


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if fragment in line)


def test_the_default_rule_file_is_valid_and_rich() -> None:
    rules = load_rules(DEFAULT_RULES_FILE)
    file = rules.file
    assert len(file.fit) >= 10
    assert len(file.engagement) >= 10
    assert {rule.id for rule in file.disqualifiers} >= {"competitor", "student", "job-seeker", "spam"}
    assert [band.name for band in file.bands] == ["cold", "warm", "hot"]
    assert any(rule.points < 0 for rule in file.engagement)
    assert any(group.half_life_days for group in file.groups.values())
    assert any(group.expires_after_days for group in file.groups.values())


def test_the_version_is_a_hash_of_the_content_not_of_comments_or_layout() -> None:
    base = small_rules()
    assert len(base.version) == 12
    assert parse_rules("# reviewed by ops\n" + SMALL_RULES).version == base.version
    assert small_rules(**{"points: 20": "points: 25"}).version != base.version


def test_an_unknown_field_is_named_with_its_line() -> None:
    text = SMALL_RULES.replace("    limit: once\n", "    limit: once\n    weight: 2\n")
    assert problems(text) == [(line_of(text, "weight: 2"), "engagement.2.weight", "unknown field 'weight'")]


def test_a_bad_regular_expression_is_reported() -> None:
    text = SMALL_RULES.replace("'\\b(vp|director)\\b'", "'(vp|director'")
    ((line, field, message),) = problems(text)
    assert (line, field) == (line_of(text, "(vp|director"), "fit.0.when.traits.title.matches")
    assert message.startswith("bad regular expression")


def test_thresholds_must_rise_and_exit_must_not_exceed_enter() -> None:
    text = SMALL_RULES.replace("{name: hot, enter: 80, exit: 70", "{name: hot, enter: 30, exit: 35")
    found = problems(text)
    assert [(line, field) for line, field, _ in found] == [
        (line_of(text, "name: hot"), "bands.2.enter"),
        (line_of(text, "name: hot"), "bands.2.exit"),
        (line_of(text, "name: hot"), "bands.2.exit"),
    ]
    assert "thresholds must rise" in found[0][2]


def test_an_unreachable_band_is_reported() -> None:
    capped = SMALL_RULES.replace("limit: {times: 1, per: day}", "limit: once").replace(
        "limit: {points: 20, per: week}", "limit: once"
    )
    capped = capped.replace(
        "    when: {event: Email Link Clicked}\n", "    when: {event: Email Link Clicked}\n    limit: once\n"
    ).replace(
        "      properties: {pages: {at_least: 100}, format.kind: pdf}\n",
        "      properties: {pages: 1}\n    limit: once\n",
    )
    capped = capped.replace(
        "repeat: {at_least: 3, within_days: 7}", "repeat: {at_least: 3, within_days: 7}\n    limit: once"
    )
    text = capped.replace("{name: hot, enter: 80", "{name: hot, enter: 500")
    ((line, field, message),) = problems(text)
    assert (line, field) == (line_of(text, "name: hot"), "bands.2.enter")
    assert message.startswith("unreachable: the rules give at most 121 points")


def test_references_to_groups_and_bands_must_exist() -> None:
    text = SMALL_RULES.replace("group: email\n", "group: mail\n").replace(
        "mql: {band: hot}", "mql: {band: hott}"
    )
    fields = [field for _, field, _ in problems(text)]
    assert fields == ["engagement.4.group", "stages.mql.band"]


def test_ids_are_unique_across_sections() -> None:
    text = SMALL_RULES.replace("  - id: job-seeker", "  - id: pricing")
    assert problems(text)[0][1:] == (
        "disqualifiers.1.id",
        "the id 'pricing' is used twice; ids name rules in scores",
    )


def test_fit_rules_cannot_look_at_events_and_engagement_rules_must() -> None:
    text = SMALL_RULES.replace("when: {email: business}", "when: {event: Signed Up}").replace(
        "when: {page: '/careers*'}", "when: {traits: {title: Intern}}"
    )
    assert [field for _, field, _ in problems(text)] == ["fit.1.when", "engagement.5.when"]


def test_grade_thresholds_must_fall_and_a_missing_section_is_named() -> None:
    text = SMALL_RULES.replace("fit: {A: 30, B: 20, C: 10}", "fit: {A: 10, B: 20, C: 30}")
    text = text.replace("sharp_rise: {points: 60, within_hours: 24}\n", "").replace("stages:", "stagez:")
    fields = sorted(field for _, field, _ in problems(text))
    assert fields == ["grade.fit", "stages", "stagez"]


def test_yaml_syntax_errors_carry_their_line() -> None:
    ((line, _, message),) = problems("groups:\n  fit: {dimension: fit\nbands: []\n")
    assert line == 3
    assert message.startswith("not valid YAML")
