"""Training is an operator's tool: the Lambda layer ships neither it nor anything that imports it."""

from __future__ import annotations

from infra.layer import PACKAGE_DIR, _package_files


def test_the_layer_leaves_training_out_and_nothing_it_ships_imports_training_or_sklearn() -> None:
    shipped = list(_package_files())
    top_level = {path.relative_to(PACKAGE_DIR).parts[0] for path in shipped}
    assert {"engine", "rules"} <= top_level  # scoring learned rules needs only these
    assert "training" not in top_level
    assert "cli_train.py" not in top_level
    for path in shipped:
        if path.suffix == ".py":
            text = path.read_text(encoding="utf-8")
            assert "sklearn" not in text, path
            assert "leadscore.training" not in text, path
