"""The learned scorecard: reading messy CSVs, binning, PDO scaling, the leak guard, and a ground truth the
learned points must recover."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadscore.rules.conditions import ValueTest
from leadscore_cli.training import Settings, TableError, fit_scorecard, parse_table, train
from leadscore_cli.training.binning import Feature, category_levels, make_feature, numeric_edges
from leadscore_cli.training.table import outcomes

PDO = 20.0


def test_a_semicolon_file_with_crlf_a_trailing_separator_and_placeholders_reads_as_missing() -> None:
    text = 'id;"plan";visits;won;\r\n1;Pro;3;yes;\r\n2;Select;;no;\r\n3;" basic ";N/A;no;\r\n'
    table = parse_table(text)
    assert table.separator == ";"
    assert table.columns == ("id", "plan", "visits", "won")
    assert [row["plan"] for row in table.rows] == ["Pro", None, "basic"]
    assert [row["visits"] for row in table.rows] == ["3", None, None]
    assert outcomes(table, "won") == ([1, 0, 0], "yes")


def test_a_comma_file_and_an_outcome_that_needs_to_be_named() -> None:
    table = parse_table("a,status\n1,open\n2,won\n3,lost\n")
    assert table.separator == ","
    with pytest.raises(TableError, match="--positive"):
        outcomes(table, "status")
    assert outcomes(table, "status", "WON") == ([0, 1, 0], "WON")
    with pytest.raises(TableError, match="no column"):
        outcomes(table, "converted")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=-50, max_value=50).map(lambda n: n / 4), min_size=2, max_size=300),
    st.integers(min_value=2, max_value=12),
    st.integers(min_value=1, max_value=30),
)
def test_numeric_bins_are_well_filled_half_open_ranges_that_the_engines_tests_read_alike(
    numbers: list[float], max_bins: int, min_count: int
) -> None:
    edges = numeric_edges(numbers, max_bins, min_count)
    assert list(edges) == sorted(set(edges))
    assert set(edges) <= set(numbers)
    assert len(edges) + 1 <= max_bins or not edges
    feature = Feature("Visits", "visits", "numeric", edges=edges)
    tests = [ValueTest.model_validate(bin_.test) for bin_ in feature.bins()]
    filled = [0] * feature.n_bins
    for number in numbers:
        index = feature.bin_of(str(number))
        assert index is not None
        filled[index] += 1
        # exactly one bin's value test holds, and it is the bin the scorecard chose
        assert [test.test(str(number)) for test in tests] == [i == index for i in range(feature.n_bins)]
    if edges:
        assert min(filled) >= min(min_count, len(numbers))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["API", "api ", "Chat", "Form", "Web", "Select", "x"]), min_size=1, max_size=80)
)
def test_categories_pool_rare_values_and_other_leaves_out_placeholders(values: list[str]) -> None:
    feature = make_feature("Origin", "origin", values, max_bins=10, min_count=5, placeholders=("select",))
    assert feature.kind == "category"
    assert len({level.casefold() for level in feature.levels}) == len(feature.levels)
    tests = [ValueTest.model_validate(bin_.test) for bin_ in feature.bins()]
    for value in values:
        index = feature.bin_of(value)
        holding = [i for i, test in enumerate(tests) if test.test(value)]
        assert holding == ([] if index is None else [index])
    assert feature.bin_of("Select") is None
    assert category_levels(["a", "A", "b"], 2) == ("a",)


def _ground_truth(n: int, seed: int = 7) -> tuple[list[dict[str, str | None]], list[int], dict[str, float]]:
    """Leads whose log-odds are known points / PDO * ln 2: the plan (missing: 0), the company size, a base."""
    rng = random.Random(seed)
    plan_points = {"basic": -20.0, "pro": 0.0, "enterprise": 40.0, None: 0.0}
    size_points = {10: -10.0, 100: 10.0, 1000: 30.0}
    base = -20.0
    rows, labels = [], []
    for _ in range(n):
        plan = rng.choice(["basic", "pro", "enterprise", None])
        size = rng.choice([10, 100, 1000])
        noise = rng.choice(["a", "b", "c"])
        points = base + plan_points[plan] + size_points[size]
        probability = 1 / (1 + 2 ** (-points / PDO))
        rows.append({"Plan": plan, "Company Size": str(size), "Noise": noise})
        labels.append(int(rng.random() < probability))
    truth = {
        "enterprise-basic": 60.0,
        "pro-basic": 20.0,
        "enterprise": 40.0,
        "size 1000-10": 40.0,
        "size 100-10": 20.0,
    }
    return rows, labels, truth


def test_the_learned_points_recover_a_known_ground_truth_with_pdo_scaling() -> None:
    rows, labels, truth = _ground_truth(12_000)
    traits = {"Plan": "plan", "Company Size": "employees", "Noise": "Noise"}
    card = fit_scorecard(rows, labels, traits, Settings(pdo=PDO, pairs=0))
    plan, size, _ = card.features
    points = dict(zip(plan.levels, card.points[0], strict=False))
    size_points = dict(zip(size.edges, card.points[1][1:], strict=False)) | {None: card.points[1][0]}
    learned = {
        "enterprise-basic": points["enterprise"] - points["basic"],
        "pro-basic": points["pro"] - points["basic"],
        "enterprise": points["enterprise"],  # relative to a missing plan, the reference
        "size 1000-10": size_points[1000.0] - size_points[None],
        "size 100-10": size_points[100.0] - size_points[None],
    }
    assert size.edges == (100.0, 1000.0)
    for name, expected in truth.items():
        assert learned[name] == pytest.approx(expected, abs=5), name
    assert max(abs(value) for value in card.points[2]) <= 3  # the noise column earns (almost) nothing
    true_score = {  # a whole lead's score is identified, base included
        ("enterprise", "1000"): -20 + 40 + 30,
        ("basic", "10"): -20 - 20 - 10,
    }
    for (plan_value, size_value), expected in true_score.items():
        row = {"Plan": plan_value, "Company Size": size_value, "Noise": "a"}
        assert card.score(row) == pytest.approx(expected, abs=6)
        assert card.probability(card.score(row)) == pytest.approx(1 / (1 + 2 ** (-card.score(row) / PDO)))


def test_doubling_pdo_doubles_the_points() -> None:
    rows, labels, _ = _ground_truth(3_000)
    traits = {"Plan": "plan", "Company Size": "employees"}
    narrow = fit_scorecard(rows, labels, traits, Settings(pdo=20, pairs=0))
    wide = fit_scorecard(rows, labels, traits, Settings(pdo=40, pairs=0))
    for few, many in zip(narrow.points, wide.points, strict=True):
        for a, b in zip(few, many, strict=True):
            assert b == pytest.approx(2 * a, abs=1)


def _with_interaction(n: int, seed: int = 3) -> tuple[list[dict[str, str | None]], list[int]]:
    """Only the pair (region EU and channel partner) converts well: neither column does alone."""
    rng = random.Random(seed)
    rows, labels = [], []
    for _ in range(n):
        region, channel = rng.choice(["EU", "US"]), rng.choice(["partner", "direct"])
        logit = 2.0 if (region, channel) == ("EU", "partner") else -0.7
        rows.append({"Region": region, "Channel": channel, "Visits": str(rng.randint(0, 9))})
        labels.append(int(rng.random() < 1 / (1 + math.exp(-logit))))
    return rows, labels


def test_a_pairwise_term_is_found_where_the_outcome_depends_on_two_columns_together() -> None:
    rows, labels = _with_interaction(4_000)
    traits = {"Region": "region", "Channel": "channel", "Visits": "visits"}
    card = fit_scorecard(rows, labels, traits, Settings(pairs=3))
    assert [(p.first.column, p.second.column) for p in card.pairs] == [("Region", "Channel")]
    best = max(card.pairs[0].points, key=lambda cell: card.pairs[0].points[cell])
    first, second = card.pairs[0].first, card.pairs[0].second
    assert (first.bins()[best[0]].label, second.bins()[best[1]].label) == ("EU", "partner")


def _leaky_table() -> str:
    rng = random.Random(5)
    lines = ["Lead Id,Status,Visits,Source,Converted"]
    for number in range(1_500):
        converted = int(rng.random() < 0.3 + 0.05 * (number % 3))
        status = ("Closed won" if converted else "Lost") if rng.random() < 0.97 else "Lost"
        lines.append(
            f"L{number},{status},{rng.randint(0, 5) + 2 * converted},{rng.choice('abc')},{converted}"
        )
    return "\n".join(lines) + "\n"


def test_the_leak_guard_leaves_out_a_column_that_alone_gives_the_outcome_away() -> None:
    table = parse_table(_leaky_table())
    training = train(table, "Converted", settings=Settings(folds=0, pairs=0))
    reasons = {item.column: item.reason for item in training.excluded}
    assert reasons == {"Lead Id": "identifier", "Status": "suspected leak", "Converted": "target"}
    assert set(training.traits) == {"Visits", "Source"}
    assert training.leak_aucs["Status"] >= 0.95 > training.leak_aucs["Visits"]


def test_a_suspected_leak_can_be_kept_and_any_column_excluded_by_name() -> None:
    table = parse_table(_leaky_table())
    training = train(
        table, "Converted", allow_leak=["Status"], exclude=["Source"], settings=Settings(folds=0, pairs=0)
    )
    assert set(training.traits) == {"Status", "Visits"}
    assert {item.column: item.reason for item in training.excluded}["Source"] == "excluded"
    with pytest.raises(TableError, match="no column 'Tags'"):
        train(table, "Converted", exclude=["Tags"])


def test_cross_validated_auc_beats_chance_by_a_margin_on_synthetic_leads() -> None:
    rows, labels, _ = _ground_truth(2_000)
    lines = ["Plan;Company Size;Noise;Converted"] + [
        f"{row['Plan'] or ''};{row['Company Size']};{row['Noise']};{label}"
        for row, label in zip(rows, labels, strict=True)
    ]
    training = train(parse_table("\n".join(lines)), "Converted", settings=Settings(folds=5, pairs=0))
    assert training.validation is not None
    assert len(training.validation.fold_aucs) == 5
    assert training.validation.auc > 0.65
    assert training.traits == {"Plan": "Plan", "Company Size": "employees", "Noise": "Noise"}


def test_a_column_never_missing_scores_0_at_its_most_common_value_and_for_a_value_never_seen() -> None:
    rows, labels, _ = _ground_truth(3_000)
    card = fit_scorecard(rows, labels, {"Plan": "plan", "Company Size": "employees"}, Settings(pairs=0))
    counts = [n for n, _ in card.counts[1]]
    typical = counts.index(max(counts))
    assert card.points[1][typical] == 0
    assert card.score({"Plan": "pro"}) == card.score(
        {"Plan": "pro", "Company Size": ["10", "100", "1000"][typical]}
    )
    plan = card.features[0]
    assert plan.bin_of("a plan never seen") == len(plan.levels)
    assert card.points[0][len(plan.levels)] == 0


def test_a_category_that_reads_as_a_number_is_written_as_one_so_a_forms_1200_matches_1_200() -> None:
    values = ["1,200"] * 5 + ["1200"] * 2 + ["unknown"] * 6
    feature = make_feature("Company Size", "employees", values, max_bins=10, min_count=3, placeholders=())
    assert feature.kind == "category"
    assert feature.levels == ("1,200", "unknown")  # "1200" is the same value, spelled the other way
    named = feature.bins()[0]
    assert named.test == {"equals": 1200}
    assert ValueTest.model_validate(named.test).test(1200)  # a form or an import sends the size as 1200
    assert feature.bin_of("1200") == feature.bin_of("1,200") == 0


def test_two_columns_that_become_one_trait_keep_the_first_as_an_import_would_send_one() -> None:
    rng = random.Random(2)
    lines = ["Country;Country Code;Visits;Won"] + [
        f"{c};{c[:2]};{rng.randint(0, 9)};{rng.choice(['yes', 'no'])}"
        for c in (rng.choice(["India", "Spain"]) for _ in range(200))
    ]
    training = train(parse_table("\n".join(lines)), "Won", settings=Settings(folds=0, pairs=0))
    assert training.traits == {"Country": "country", "Visits": "Visits"}
    same = [item for item in training.excluded if item.reason == "same trait"]
    assert [(item.column, item.detail) for item in same] == [
        ("Country Code", "becomes the trait 'country', as 'Country' does: an import keeps one of them")
    ]
