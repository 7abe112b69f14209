"""Alerts for sales: each new signal once, with its reasons and the rules behind the score."""

from __future__ import annotations

import pytest

from leadscore.alerts import RecentlySent, email_text, printable, publish_new_alerts
from leadscore.engine import Signal
from leadscore.events import Event
from leadscore.records import Alert, LeadRecord
from leadscore.rules import DEFAULT_RULES_FILE, load_rules, parse_rules
from leadscore.scoring import evaluated_record
from tests.fakes import InMemoryLeadRepository, RecordingPublisher
from tests.rulesets import START, Events, days

RULES = load_rules(DEFAULT_RULES_FILE)
kim = Events("kim@acme-robotics.com")


def written(record: LeadRecord | None, *events: Event) -> LeadRecord:
    at = max(event.timestamp for event in events)
    return evaluated_record(kim.lead_id, record, list(events), RULES, at)


def test_a_new_signal_is_published_once_with_reasons_and_top_rules() -> None:
    profile = written(None, kim.identify(title="VP Sales", employees=300, country="US", budget=20000))
    hot = written(
        profile, kim.track("Demo Requested", START + days(1)), kim.page("/pricing", START + days(1))
    )
    publisher = RecordingPublisher()
    (alert,) = publish_new_alerts(RULES, profile, hot, publisher)
    assert publisher.published == [alert]
    assert alert.kind == "fast_track"
    assert alert.band == "hot"
    assert alert.reasons[0] == "A lead with a good fit asked for a demo"
    assert alert.top_rules[0].rule == "demo-request"
    assert alert.subject.startswith("[leadscore] Fast-track: kim@acme-robotics.com")
    assert len(alert.subject) <= 100
    text = email_text(alert)
    assert "Why:" in text
    assert "+40  demo-request" in text
    # The same stream record delivered again publishes nothing.
    assert publish_new_alerts(RULES, hot, hot, publisher) == []
    assert len(publisher.published) == 1


def test_a_write_without_a_new_signal_publishes_nothing() -> None:
    first = written(None, kim.page("/blog/post"))
    second = written(first, kim.page("/product", START + days(1)))
    assert publish_new_alerts(RULES, first, second, RecordingPublisher()) == []


def test_an_alert_carries_what_a_team_filters_on() -> None:
    profile = written(
        None, kim.identify(title="VP Sales", employees=300, country="DE", owner="kim.s", region="EMEA")
    )
    hot = written(profile, kim.page("/pricing", START + days(1)), kim.track("Trial Started", START + days(1)))
    alerts = publish_new_alerts(RULES, profile, hot, RecordingPublisher())
    assert alerts
    # The latest activity raised them: of the rules last hit then, the one with the most points
    for alert in alerts:
        assert (alert.country, alert.region, alert.owner, alert.rule) == (
            "DE",
            "EMEA",
            "kim.s",
            "trial-started",
        )


def test_a_subject_never_holds_a_control_character() -> None:
    assert printable("Dana\r\nBcc: x@example.com") == "Dana  Bcc: x@example.com"


def test_a_band_flipping_back_and_forth_alerts_once_per_cool_down() -> None:
    kim_vp = {"title": "VP Sales", "employees": 300, "country": "US", "budget": 20000}
    record = written(None, kim.identify(**kim_vp), kim.track("Trial Started", START + days(0.01)))
    assert [s.kind for s in record.signals] == ["band_entered"]
    kinds = []
    for toggle in range(8):  # a title corrected back and forth: out (a student), in again, ...
        title = "Student" if toggle % 2 == 0 else "VP Sales"
        record = written(
            record, kim.identify(at=START + days(0.02 + toggle / 1000), **{**kim_vp, "title": title})
        )
        kinds += [signal.kind for signal in record.signals]
    assert kinds == ["disqualified"]  # not eight alerts: the rest fell within the 24-hour cool-down
    # Past the cool-down, the lead may alert again when it crosses again
    later = START + days(1.1)
    record = written(
        record, kim.identify(at=later, **{**kim_vp, "title": "Student"}), kim.page("/pricing", later)
    )
    record = written(record, kim.identify(at=later + days(0.01), **kim_vp))
    assert (record.summary.band, [s.kind for s in record.signals]) == ("hot", ["band_entered"])


def test_the_subject_names_the_person_company_score_and_strongest_reason_and_the_body_links_out() -> None:
    text = (
        DEFAULT_RULES_FILE.read_text()
        + '\nalerts:\n  link: "https://crm.example.com/contacts?email={lead_id}"\n'
    )
    rules = parse_rules(text)
    traits = {"first_name": "Kim", "last_name": "Sato", "company": "Acme Robotics", "title": "VP Sales"}
    profile = evaluated_record(
        kim.lead_id, None, [kim.identify(employees=300, country="US", budget=20000, **traits)], rules, START
    )
    events = [kim.track("Demo Requested", START + days(1)), kim.page("/pricing", START + days(1))]
    hot = evaluated_record(kim.lead_id, profile, events, rules, START + days(1))
    (alert,) = publish_new_alerts(rules, profile, hot, RecordingPublisher())
    assert alert.subject.startswith("[leadscore] Fast-track: Kim Sato (Acme Robotics), score ")
    assert alert.subject.endswith(": Requested a demo")
    assert len(alert.subject) <= 100
    assert alert.link == "https://crm.example.com/contacts?email=kim%40acme-robotics.com"
    body = email_text(alert)
    assert "Lead:       Kim Sato, kim@acme-robotics.com (Acme Robotics)" in body
    assert "Latest activity:" in body
    assert "Requested a demo" in body.split("Latest activity:")[1]
    assert f"Open: {alert.link}" in body


def test_an_alert_names_the_account_other_engaged_people() -> None:
    repository = InMemoryLeadRepository()
    maria = Events("maria@acme-robotics.com")
    tom = Events("tom@acme-robotics.com")
    for colleague in (
        evaluated_record(
            maria.lead_id, None, [maria.identify(title="Manager"), maria.track("Trial Started")], RULES, START
        ),
        evaluated_record(tom.lead_id, None, [tom.identify(title="Engineer")], RULES, START),
    ):
        repository.save(colleague, 0)
    profile = written(None, kim.identify(title="VP Sales", employees=300, country="US", budget=20000))
    hot = written(profile, kim.track("Demo Requested", START + days(1)))
    (alert,) = publish_new_alerts(RULES, profile, hot, RecordingPublisher(), repository.leads_of_account)
    # Maria tried the product; Tom only gave his title, so he is not engaged
    assert [member.lead_id for member in alert.colleagues] == ["maria@acme-robotics.com"]
    assert "Others engaged at the account:\n  maria@acme-robotics.com" in email_text(alert)


class FailingOnce(RecordingPublisher):
    """SNS refusing the n-th publish once (after botocore's own retries)."""

    def __init__(self, failing_call: int) -> None:
        super().__init__()
        self._calls = 0
        self._failing_call = failing_call

    def publish(self, alert: Alert) -> None:
        self._calls += 1
        if self._calls == self._failing_call:
            raise RuntimeError("SNS throttled")
        super().publish(alert)


def test_a_record_retried_after_its_second_alert_failed_does_not_send_the_first_again() -> None:
    # Given a write that raised two signals
    profile = written(None, kim.identify(title="VP Sales", employees=300, country="US", budget=20000))
    hot = written(profile, kim.track("Demo Requested", START + days(1)))
    (first,) = hot.signals
    rise = Signal(
        id=Signal.id_for(kim.lead_id, "sharp_rise", first.at),
        kind="sharp_rise",
        at=first.at,
        band="hot",
        points=60,
    )
    both = hot.model_copy(update={"signals": [first, rise]})
    publisher, sent = FailingOnce(failing_call=2), RecentlySent()
    # When the second publish fails and the stream retries the record
    with pytest.raises(RuntimeError):
        publish_new_alerts(RULES, profile, both, publisher, sent=sent)
    retried = publish_new_alerts(RULES, profile, both, publisher, sent=sent)
    # Then each alert went out once
    assert [alert.kind for alert in retried] == ["sharp_rise"]
    assert [alert.signal_id for alert in publisher.published] == [first.id, rise.id]


def test_recently_sent_forgets_the_oldest_past_its_limit() -> None:
    sent = RecentlySent(limit=2)
    for signal_id in ("a", "b", "c"):
        sent.add(signal_id)
    assert ("a" in sent, "b" in sent, "c" in sent) == (False, True, True)
