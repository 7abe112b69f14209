"""Contacts imported from a CRM export: each row read as a form's fields are, one identify per contact,
the same message id for the same row (a second import counts once), rows without an address skipped."""

from __future__ import annotations

from pathlib import Path

from leadscore.rules.model import FormSettings
from leadscore_cli.contacts import _rows, contact_message

ROW = {
    "Email Address": " Ada@Northwind.com ",
    "First Name": "Ada",
    "Job Title": "VP Engineering",
    "Company Size": "1,200",
    "Industry": "robotics",
    "Created": "2026-10-01",
    "Notes": "",
}


def test_a_row_is_read_as_a_form_reads_its_fields_and_other_columns_stay_traits() -> None:
    message = contact_message(ROW)
    assert message is not None
    assert (message["type"], message["userId"], message["timestamp"]) == (
        "identify",
        "ada@northwind.com",
        "2026-10-01T00:00:00Z",
    )
    assert message["traits"] == {
        "email": "ada@northwind.com",
        "firstName": "Ada",
        "title": "VP Engineering",
        "employees": 1200,
        "Industry": "robotics",
        "Created": "2026-10-01",
    }


def test_a_form_mapping_applies_and_the_same_row_has_the_same_message_id() -> None:
    form = FormSettings(fields={"Industry": "industry"})
    mapped = contact_message(ROW, form)
    assert mapped is not None
    assert mapped["traits"]["industry"] == "robotics"
    again, other = contact_message(dict(ROW)), contact_message({**ROW, "Job Title": "CTO"})
    assert again is not None
    assert other is not None
    assert again["messageId"] == contact_message(ROW)["messageId"] != other["messageId"]  # type: ignore[index]


def test_a_row_without_a_valid_address_is_skipped() -> None:
    assert contact_message({"Name": "Bo", "Email": ""}) is None
    assert contact_message({"Name": "Bo", "Email": "not an address"}) is None


def test_semicolon_files_are_read_too(tmp_path: Path) -> None:
    export = tmp_path / "contacts.csv"
    export.write_text("Email;Job Title;Country\nada@northwind.com;CTO;DE\nbo@initech.com;Manager;US\n")
    assert [(line, row["Job Title"]) for line, row in _rows(export)] == [(2, "CTO"), (3, "Manager")]
