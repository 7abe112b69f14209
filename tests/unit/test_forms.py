"""Form posts (HTML forms, form builders' webhooks) read as Segment messages: fields, identity, spam signals,
redirects, bounds; and the rule file's ``forms:`` section."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadscore.forms import (
    DEFAULT_FORM_EVENT,
    DEFAULT_HONEYPOT,
    MAX_FIELDS,
    FormPost,
    FormSettings,
    FormSubmission,
    is_browser_post,
    read_form,
)
from leadscore.rules import RuleFileError, load_rules, parse_rules
from leadscore.rules.conditions import Condition, Facts
from leadscore.segment import InvalidMessage, accept_message
from tests.rulesets import SMALL_RULES

URLENCODED = "application/x-www-form-urlencoded"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PAGE = "https://www.acme-robotics.com/contact?utm_source=ads"
COOKIE = "_ga=GA1.2.3; ajs_user_id=null; ajs_anonymous_id=%22abc-123%22; other=1"


def post(
    body: bytes | str | Mapping[str, Any] | list[tuple[str, str]],
    *,
    content_type: str | None = URLENCODED,
    form_id: str = "contact",
    query: str = "",
    cookie: str | None = None,
    accept: str | None = None,
    referer: str | None = None,
) -> FormPost:
    if isinstance(body, Mapping) and content_type == URLENCODED:
        body = urlencode(dict(body))
    elif isinstance(body, list):
        body = urlencode(body)
    elif isinstance(body, Mapping):
        body = json.dumps(body)
    raw = body.encode() if isinstance(body, str) else body
    return FormPost(form_id, raw, content_type, query, cookie, accept, referer)


def read(
    body: bytes | str | Mapping[str, Any] | list[tuple[str, str]],
    settings: Mapping[str, FormSettings] | None = None,
    **request: Any,
) -> FormSubmission:
    return read_form(post(body, **request), settings or {})


def traits(submission: FormSubmission) -> dict[str, Any]:
    identify = submission.messages[0]
    assert identify["type"] == "identify"
    result: dict[str, Any] = identify["traits"]
    return result


def properties(submission: FormSubmission) -> dict[str, Any]:
    track = submission.messages[1]
    assert track["type"] == "track"
    result: dict[str, Any] = track["properties"]
    return result


def refused(body: Any, settings: Mapping[str, FormSettings] | None = None, **request: Any) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as raised:
        read(body, settings, **request)
    return raised.value


def multipart(*parts: tuple[str, bytes], boundary: str = "----WebKitFormBoundary7MA4YWxk") -> FormPost:
    """``parts``: (Content-Disposition parameters and any further headers, body)."""
    chunks = [
        f"--{boundary}\r\nContent-Disposition: form-data; {head}\r\n\r\n".encode() + data + b"\r\n"
        for head, data in parts
    ]
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    return FormPost("demo", body, f"multipart/form-data; boundary={boundary}", "", None, BROWSER_ACCEPT, PAGE)


# --- bodies ------------------------------------------------------------------------------------------


def test_a_url_encoded_form_becomes_an_identify_and_a_track() -> None:
    submission = read(
        {
            "writeKey": "wk-1",
            "Email": "  Jane@Acme-Robotics.com ",
            "First Name": "Jane",
            "last_name": "Doe",
            "Company": "Acme Robotics",
            "Job Title": "VP Engineering",
            "company_size": "51-200",
            "Country": "US",
            "message": "We need scoring for 3 teams",
            "utm_source": "ads",
        }
    )
    assert submission.write_key == "wk-1"
    assert submission.redirect_to is None
    identity = {"userId": "jane@acme-robotics.com"}
    clean = {"spam": False, "spam_reasons": []}
    assert submission.messages == [
        {
            "type": "identify",
            **identity,
            "traits": {
                "email": "jane@acme-robotics.com",
                "firstName": "Jane",
                "lastName": "Doe",
                "company": "Acme Robotics",
                "title": "VP Engineering",
                "employees": "51-200",
                "country": "US",
                **clean,
            },
        },
        {
            "type": "track",
            **identity,
            "event": "Form Submitted",
            "properties": {
                "message": "We need scoring for 3 teams",
                "utm_source": "ads",
                "form_id": "contact",
                **clean,
            },
        },
    ]


@pytest.mark.parametrize(
    ("field", "trait"),
    [
        ("email", "email"),
        ("E-mail", "email"),
        ("email_address", "email"),
        ("your-email", "email"),
        ("name", "name"),
        ("Full Name", "name"),
        ("firstName", "firstName"),
        ("first_name", "firstName"),
        ("first-name", "firstName"),
        ("FNAME", "firstName"),
        ("lastName", "lastName"),
        ("last name", "lastName"),
        ("surname", "lastName"),
        ("company", "company"),
        ("Organization", "company"),
        ("organisation", "company"),
        ("company_name", "company"),
        ("title", "title"),
        ("Job Title", "title"),
        ("jobTitle", "title"),
        ("employees", "employees"),
        ("Company Size", "employees"),
        ("companySize", "employees"),
        ("number_of_employees", "employees"),
        ("country", "country"),
        ("budget", "budget"),
        ("timeline", "timeline"),
        ("useCase", "use_case"),
        ("use_case", "use_case"),
        ("Use Case", "use_case"),
        ("phone", "phone"),
        ("Phone Number", "phone"),
        ("form_fields[company]", "company"),
    ],
)
def test_common_field_names_map_to_traits_without_configuration(field: str, trait: str) -> None:
    value = "jane@acme-robotics.com" if trait == "email" else "Acme 42"
    submission = read({"email": "jane@acme-robotics.com", field: value}, form_id=f"any-form-{len(field)}")
    assert traits(submission)[trait] == value
    assert field not in properties(submission)


@pytest.mark.parametrize(
    ("posted", "kept"),
    [("420", 420), ("1,200", 1200), ("51-200", "51-200"), ("1000+", "1000+"), ("9" * 20, "9" * 20)],
)
def test_company_size_is_a_number_when_it_is_one(posted: str, kept: object) -> None:
    assert traits(read({"email": "a@acme.com", "Company size": posted}))["employees"] == kept


def test_a_multipart_form_is_read_and_its_file_parts_are_ignored() -> None:
    submission = read_form(
        multipart(
            ('name="email"', b"jane@acme-robotics.com"),
            ('name="name"', "Jörg Müller".encode()),
            ('name="nächste"', b"x"),
            ('name="cv"; filename="cv.pdf"\r\nContent-Type: application/pdf', b"%PDF-1.7\x00\xff\r\n--"),
            ('name="nothing"; filename=""\r\nContent-Type: application/octet-stream', b""),
            ('name="message"', b"line one\r\nline two"),
            ('name="writeKey"', b"wk-2"),
        ),
        {},
    )
    assert submission.write_key == "wk-2"
    assert traits(submission)["name"] == "Jörg Müller"
    assert properties(submission) == {
        "nächste": "x",
        "message": "line one\r\nline two",
        "form_id": "demo",
        "spam": False,
        "spam_reasons": [],
    }


def test_a_multipart_body_needs_its_boundary_and_named_text_parts() -> None:
    good = multipart(('name="email"', b"jane@acme.com"))
    no_boundary = FormPost("demo", good.body, "multipart/form-data", "", None, None, None)
    other_boundary = FormPost("demo", good.body, "multipart/form-data; boundary=nope", "", None, None, None)
    cases = [
        (no_boundary, "Content-Type"),
        (other_boundary, "body"),
        (multipart(("filename_only=1", b"x")), "body"),
        (multipart(('name="logo"\r\nContent-Type: image/png', b"\x89PNG")), "logo"),
        (multipart(('name="email"', b"\xff\xfe")), "email"),
    ]
    for form_post, field in cases:
        with pytest.raises(InvalidMessage) as raised:
            read_form(form_post, {})
        assert raised.value.field == field


def test_a_flat_json_object_is_read_with_its_types_kept() -> None:
    submission = read(
        {"email": "jane@acme.com", "employees": 420, "newsletter": True, "plan": "team", "notes": None},
        content_type="application/json; charset=utf-8",
    )
    assert traits(submission)["employees"] == 420
    assert properties(submission) == {
        "newsletter": True,
        "plan": "team",
        "form_id": "contact",
        "spam": False,
        "spam_reasons": [],
    }


def test_a_form_builder_webhook_with_a_fields_or_data_object_is_read() -> None:
    webhook = {
        "writeKey": "wk-3",
        "form_name": "Contact us",
        "submitted_at": "2026-11-24T10:00:00Z",
        "fields": {"Email": "jane@acme.com", "Company": "Acme", "Interests": ["Scoring", "Alerts"]},
    }
    submission = read(webhook, content_type="application/json")
    assert submission.write_key == "wk-3"
    assert traits(submission)["company"] == "Acme"
    # Only the fields object is read: the webhook's own metadata is not the visitor's.
    assert properties(submission)["Interests"] == ["Scoring", "Alerts"]
    assert "form_name" not in properties(submission)

    as_list = {"data": [{"name": "email", "value": "jane@acme.com"}, {"name": "Budget", "value": "50k"}]}
    assert traits(read(as_list, content_type="application/json"))["budget"] == "50k"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"[1, 2]", "body"),
        (b"{not json", "body"),
        (b'{"email": "a@b.com", "x": NaN}', "body"),
        (b'{"email": "a@b.com", "x": 1' + b"0" * 30 + b"}", "body"),
        (b'{"email": "a@b.com", "x": 1e300}', "x"),
        (b'{"email": "a@b.com", "address": {"city": "Paris"}}', "address"),
        (b'{"email": "a@b.com", "tags": [["nested"]]}', "tags"),
        (b'{"email": ["a@b.com"]}', "email"),
        (b'{"data": ["email"]}', "data[0]"),
        (b'{"email": "a@b.com", "writeKey": ["k"]}', "writeKey"),
        (b'{"email": "a@b.com", "note": "\\ud800"}', "note"),
    ],
)
def test_a_json_body_that_is_not_a_flat_form_is_refused_naming_the_field(body: bytes, field: str) -> None:
    assert refused(body, content_type="application/json").field == field


def test_repeated_fields_keep_the_last_non_empty_value_and_bracketed_names_keep_them_all() -> None:
    pairs = [
        ("email", "jane@acme.com"),
        ("agree", "0"),
        ("agree", "1"),
        ("source", "ads"),
        ("source", ""),
        ("interests[]", "scoring"),
        ("interests[]", ""),
        ("interests[]", "alerts"),
    ]
    assert properties(read(pairs)) == {
        "agree": "1",
        "source": "ads",
        "interests": ["scoring", "alerts"],
        "form_id": "contact",
        "spam": False,
        "spam_reasons": [],
    }


def test_empty_fields_say_nothing_so_they_never_overwrite_a_trait() -> None:
    submission = read({"email": "jane@acme.com", "title": "  ", "company": "", "comments": ""})
    assert set(traits(submission)) == {"email", "spam", "spam_reasons"}
    assert set(properties(submission)) == {"form_id", "spam", "spam_reasons"}


def test_a_latin_1_form_is_decoded_with_its_charset() -> None:
    body = b"email=a%40acme.com&name=J%F6rg"
    submission = read(body, content_type=f"{URLENCODED}; charset=ISO-8859-1")
    assert traits(submission)["name"] == "Jörg"


@pytest.mark.parametrize(
    ("content_type", "body", "field"),
    [
        (None, b"email=a%40b.com", "Content-Type"),
        ("text/plain", b"email=a@b.com", "Content-Type"),
        (f"{URLENCODED}; charset=klingon", b"email=a%40b.com", "Content-Type"),
        (URLENCODED, b"email=a%40b.com&name=J%F6rg", "body"),
        (URLENCODED, b"email=a%40b.com&name=\xff", "body"),
        (URLENCODED, b"email=a%40b.com&=orphan", "body"),
    ],
)
def test_what_cannot_be_decoded_is_refused(content_type: str | None, body: bytes, field: str) -> None:
    assert refused(body, content_type=content_type).field == field


# --- the write key -----------------------------------------------------------------------------------


def test_the_write_key_comes_from_a_hidden_field_or_the_query_and_is_never_kept() -> None:
    in_field = read({"email": "a@acme.com", "writeKey": "wk-field"}, query="writeKey=wk-query")
    in_query = read({"email": "a@acme.com"}, query="utm=1&writeKey=wk-query")
    absent = read({"email": "a@acme.com"})
    assert (in_field.write_key, in_query.write_key, absent.write_key) == ("wk-field", "wk-query", None)
    for submission in (in_field, in_query):
        for message in submission.messages:
            assert "wk-" not in json.dumps(message)


# --- per-form settings -------------------------------------------------------------------------------


def test_a_forms_settings_map_extra_fields_to_traits_and_name_the_event() -> None:
    settings = {
        "demo": FormSettings(
            fields={"How big is your team?": "employees", "dept": "department", "role": "persona"},
            event="Demo Requested",
        )
    }
    body = {"email": "jane@acme.com", "How big is your team?": "1,500", "Dept": "Sales", "Role": "buyer"}
    submission = read(body, settings, form_id="demo")
    assert traits(submission) == {
        "email": "jane@acme.com",
        "employees": 1500,
        "department": "Sales",
        "persona": "buyer",  # the form's mapping wins over the built-in "role" -> title
        "spam": False,
        "spam_reasons": [],
    }
    assert submission.messages[1]["event"] == "Demo Requested"
    # Another form keeps the defaults.
    other = read(body, settings, form_id="contact")
    assert other.messages[1]["event"] == DEFAULT_FORM_EVENT
    assert traits(other)["title"] == "buyer"
    assert properties(other)["Dept"] == "Sales"


def test_names_are_compared_without_case_or_separators_in_any_script() -> None:
    settings = {"contact": FormSettings(fields={"Prénom": "firstName", "会社": "company", "???": "oops"})}
    body = {"email": "a@acme.com", "prénom": "Zoë", "会社": "Acme", "!!": "x", "Größe": "5"}
    submission = read(body, settings)
    assert traits(submission)["firstName"] == "Zoë"
    assert traits(submission)["company"] == "Acme"
    assert "oops" not in traits(submission)
    assert (properties(submission)["!!"], properties(submission)["Größe"]) == ("x", "5")


def test_a_field_mapped_to_email_identifies_the_visitor() -> None:
    settings = {"webinar": FormSettings(fields={"Work address": "email"})}
    submission = read({"Work address": " Ann@Initech.com"}, settings, form_id="webinar")
    assert submission.messages[0]["userId"] == "ann@initech.com"


# --- identity ----------------------------------------------------------------------------------------


def test_the_analytics_js_cookie_links_the_form_to_the_browsing_before_it() -> None:
    submission = read({"email": "Jane@Acme.com"}, cookie=COOKIE)
    for message in submission.messages:
        assert (message["userId"], message["anonymousId"]) == ("jane@acme.com", "abc-123")


@pytest.mark.parametrize(
    ("cookie", "anonymous_id"),
    [
        ("ajs_anonymous_id=%22abc-123%22", "abc-123"),
        ('ajs_anonymous_id="abc-123"', "abc-123"),
        ("ajs_anonymous_id=abc-123", "abc-123"),
        ("rl_anonymous_id=%22rl-9%22", "rl-9"),
        ("rl_anonymous_id=RudderEncrypt%3AU2FsdGVkX1abc", None),
        ("rl_anonymous_id=RS_ENC_v3_ImFiYyI%3D", None),
        ("ajs_anonymous_id=%22%22; rl_anonymous_id=rl-9", "rl-9"),
        (f"ajs_anonymous_id={'x' * 300}", None),
        ("ajs_anonymous_id=%22a%0Ab%22", None),
        ("garbage; ;=;ajs_anonymous_id", None),
        ("ajs_anonymous_id=%22%5Cud800%22", None),
    ],
)
def test_anonymous_id_cookies(cookie: str, anonymous_id: str | None) -> None:
    submission = read({"email": "jane@acme.com"}, cookie=cookie)
    assert submission.messages[0].get("anonymousId") == anonymous_id


def test_a_hidden_anonymous_id_field_wins_over_the_cookie_and_is_not_a_property() -> None:
    submission = read({"email": "jane@acme.com", "anonymousId": "from-page"}, cookie=COOKIE)
    assert submission.messages[1]["anonymousId"] == "from-page"
    assert "anonymousId" not in properties(submission)


def test_without_an_e_mail_the_anonymous_id_identifies_the_visitor() -> None:
    submission = read({"message": "call me"}, cookie=COOKIE)
    assert [set(message) & {"userId", "anonymousId"} for message in submission.messages] == [
        {"anonymousId"},
        {"anonymousId"},
    ]


def test_an_invalid_e_mail_is_kept_as_a_trait_but_not_used_as_the_user_id() -> None:
    submission = read({"email": "Jane at Acme"}, cookie=COOKIE)
    assert "userId" not in submission.messages[0]
    assert traits(submission)["email"] == "jane at acme"
    assert traits(submission)["spam_reasons"] == ["invalid_email"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "Jane"}, "is required, or an anonymous id"),
        ({"email": "jane-at-acme"}, "is not a valid e-mail address"),
        ({"email": "a@" + "b" * 250 + ".com"}, "is not a valid e-mail address"),
    ],
)
def test_no_way_to_know_the_visitor_is_refused(body: dict[str, str], message: str) -> None:
    error = refused(body)
    assert error.field == "email"
    assert error.message.startswith(message)


# --- spam signals ------------------------------------------------------------------------------------


def test_a_filled_honeypot_is_a_signal_and_never_a_field() -> None:
    spam = read({"email": "jane@acme.com", DEFAULT_HONEYPOT: "http://cheap.example"})
    clean = read({"email": "jane@acme.com", DEFAULT_HONEYPOT: ""})
    assert (properties(spam)["spam"], properties(spam)["spam_reasons"]) == (True, ["honeypot"])
    assert (traits(spam)["spam"], traits(spam)["spam_reasons"]) == (True, ["honeypot"])
    assert properties(clean)["spam"] is False
    for submission in (spam, clean):
        assert DEFAULT_HONEYPOT not in properties(submission)


def test_a_form_can_name_its_own_honeypot() -> None:
    settings = {"contact": FormSettings(honeypot="website_url")}
    spam = read({"email": "jane@acme.com", "website_url": "x"}, settings)
    assert properties(spam)["spam_reasons"] == ["honeypot"]
    # The default name is then an ordinary field.
    assert properties(read({"email": "jane@acme.com", "_hp": "x"}, settings))["_hp"] == "x"


@pytest.mark.parametrize(
    ("body", "reasons"),
    [
        ({"email": "jane@acme-robotics.com", "name": "Jane Doe", "company": "Acme"}, []),
        ({"email": "jane@mailinator.com"}, ["disposable_email"]),
        ({"email": "jane@eu.mailinator.com"}, ["disposable_email"]),
        ({"email": "jane@example.com"}, ["fake_email"]),
        ({"email": "jane@test.com"}, ["fake_email"]),
        ({"email": "jane@shop.test"}, ["fake_email"]),
        ({"email": "jane@gmail.com"}, []),
        ({"email": "a@acme.com", "name": "asdf"}, ["fake_name"]),
        ({"email": "a@acme.com", "first_name": "Test", "last_name": "Test"}, ["fake_name"]),
        ({"email": "a@acme.com", "name": "John Test"}, []),
        ({"email": "a@acme.com", "name": "Aaaa"}, ["fake_name"]),
        ({"email": "a@acme.com", "name": "Al", "company": "qwerty"}, ["fake_name"]),
        ({"email": "a@acme.com", "name": "Cheap pills http://spam.example"}, ["url_in_name"]),
        ({"email": "a@acme.com", "first_name": "visit www.spam.example"}, ["url_in_name"]),
        ({"email": "a@acme.com", "company": "acme.com"}, []),
        ({"email": "a@acme.com", "name": "Lb", "company": "lb", "message": "LB"}, ["same_values"]),
        ({"email": "a@acme.com", "name": "Lee", "lastName": "Lee"}, []),
        ({"email": "a@example.com", "name": "test", "_hp": "1"}, ["honeypot", "fake_email", "fake_name"]),
    ],
)
def test_obviously_fake_values_are_signals(body: dict[str, str], reasons: list[str]) -> None:
    submission = read(body)
    assert properties(submission)["spam_reasons"] == reasons
    assert properties(submission)["spam"] is bool(reasons)


def test_spam_is_never_a_refusal_and_a_rule_can_score_it() -> None:
    submission = read({"email": "bot@mailinator.com", "name": "asdf", "_hp": "yes"})
    received = datetime(2026, 11, 24, 10, tzinfo=UTC)
    identify, track = (accept_message(message, received).event for message in submission.messages)
    rules = parse_rules(
        SMALL_RULES.replace(
            "disqualifiers:\n",
            "  - id: form-spam\n"
            "    group: steady\n"
            "    points: -50\n"
            "    when: {event: Form Submitted, properties: {spam: true}}\n"
            "disqualifiers:\n"
            "  - id: spam-form\n"
            "    reason: Spam signals on a form\n"
            "    when: {traits: {spam_reasons: {contains: honeypot}}}\n",
        )
    )
    [form_spam] = [rule for rule in rules.file.engagement if rule.id == "form-spam"]
    [spam_form] = [rule for rule in rules.file.disqualifiers if rule.id == "spam-form"]
    facts = Facts(traits=identify.traits, email_kind="disposable", event=track)
    assert form_spam.when.holds(facts)
    assert spam_form.when.holds(facts)
    clean = read({"email": "jane@acme.com"})
    clean_track = accept_message(clean.messages[1], received).event
    clean_facts = Facts(traits={}, email_kind="business", event=clean_track)
    assert not form_spam.when.holds(clean_facts)
    genuine = Condition.model_validate({"event": "Form Submitted", "properties": {"spam": False}})
    assert genuine.holds(clean_facts)
    assert not genuine.holds(facts)


def test_the_messages_pass_the_tracking_apis_validation() -> None:
    submission = read(
        {"email": "jane@acme.com", "First Name": "Jane", "Company size": "1,200", "message": "hi"},
        cookie=COOKIE,
    )
    received = datetime(2026, 11, 24, 10, tzinfo=UTC)
    events = [accept_message(message, received).event for message in submission.messages]
    assert [(event.kind, event.lead_id, event.anonymous_id) for event in events] == [
        ("identify", "jane@acme.com", "abc-123"),
        ("track", "jane@acme.com", "abc-123"),
    ]
    assert events[0].traits["employees"] == 1200
    assert events[1].name == "Form Submitted"
    for message in submission.messages:
        assert "messageId" not in message
        assert "timestamp" not in message


# --- bounds ------------------------------------------------------------------------------------------


def test_bounds_are_refused_naming_the_field() -> None:
    many = [("email", "a@acme.com")] + [(f"f{index}", "x") for index in range(MAX_FIELDS)]
    assert refused(many).field == "body"
    assert read(many[:MAX_FIELDS]).messages  # exactly the limit is fine

    long_name = "q" * 101
    error = refused({"email": "a@acme.com", long_name: "x"})
    assert (error.field, error.message) == ("q" * 40 + "...", "field names are at most 100 characters")
    assert refused({"email": "a@acme.com", "bad\x00name": "x"}).field == "bad?name"
    assert refused({"email": "a@acme.com", "tab\tname": "x"}).message.endswith("control characters")

    assert read({"email": "a@acme.com", "message": "m" * 2000}).messages
    error = refused({"email": "a@acme.com", "message": "m" * 2001})
    assert (error.field, error.message) == ("message", "is longer than 2,000 characters")
    error = refused({"email": "a@acme.com", "Use case": "u" * 1025})
    assert error.field == "Use case"
    assert error.message == "is longer than 1,024 characters (the limit for a trait)"
    assert refused({"email": "a@acme.com", "anonymousId": "a" * 257}).field == "anonymousId"
    assert refused({"email": "a@acme.com", "anonymous_id": "a\nb"}).field == "anonymous_id"
    assert refused({"email": "a@acme.com", "x": "1"}, form_id="bad id/..").field == "formId"


_PIECES = st.sampled_from(
    [
        *(b"--b", b"\r\n", b"Content-Disposition: form-data; ", b'name="', b'"', b"filename=", b";", b"="),
        *(b"&", b"Content-Type: text/plain", b"email", b"a%40b.com", b"a@b.com", b"\xff", b"\xc3\xa4", b"%"),
        *(b"{", b"}", b"[", b"]", b'"fields"', b":", b",", b"null", b"1e999", b"\\ud800", b"\x00"),
        *(b"writeKey", b"_hp"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    body=st.lists(_PIECES | st.binary(max_size=8), max_size=40).map(b"".join),
    content_type=st.sampled_from(
        [URLENCODED, "multipart/form-data; boundary=b", "application/json", f"{URLENCODED}; charset=utf-16"]
    ),
    cookie=st.none() | st.text(max_size=40).map(lambda text: "ajs_anonymous_id=" + text),
)
def test_any_body_is_either_refused_naming_a_field_or_read_into_valid_messages(
    body: bytes, content_type: str, cookie: str | None
) -> None:
    form_post = FormPost("f", body, content_type, "", cookie, BROWSER_ACCEPT, PAGE)
    refusal: InvalidMessage | None = None
    try:
        submission = read_form(form_post, {})
    except InvalidMessage as error:
        refusal = error
    if refusal is not None:
        assert refusal.field
        return
    received = datetime(2026, 11, 24, 10, tzinfo=UTC)
    for message in submission.messages:
        json.dumps(message).encode()
        accept_message(message, received)


def test_values_are_stripped() -> None:
    submission = read({"email": "a@acme.com", "company": "  Acme\n", "message": "\t hi  "})
    assert (traits(submission)["company"], properties(submission)["message"]) == ("Acme", "hi")


# --- redirects ---------------------------------------------------------------------------------------


def test_a_browser_is_sent_to_the_thank_you_page_or_back_to_the_form() -> None:
    settings = {"demo": FormSettings(thank_you_url="https://www.acme-robotics.com/thanks")}
    body = {"email": "jane@acme.com", "redirect": "https://evil.example", "_next": "https://evil.example"}
    browser = {"accept": BROWSER_ACCEPT, "referer": PAGE}
    assert (
        read(body, settings, form_id="demo", **browser).redirect_to == "https://www.acme-robotics.com/thanks"
    )
    back = read(body, settings, form_id="contact", **browser)
    assert back.redirect_to == PAGE
    # A URL in the body is a property, never a destination.
    assert properties(back)["redirect"] == "https://evil.example"
    assert read_form(multipart(('name="email"', b"a@acme.com")), {}).redirect_to == PAGE


@pytest.mark.parametrize(
    ("content_type", "accept", "referer", "redirect_to"),
    [
        (URLENCODED, BROWSER_ACCEPT, PAGE, PAGE),
        (URLENCODED, "*/*", PAGE, None),  # fetch() or a script: JSON
        (URLENCODED, None, PAGE, None),
        ("application/json", BROWSER_ACCEPT, PAGE, None),
        (URLENCODED, BROWSER_ACCEPT, None, None),  # nowhere to go back to: JSON
        (URLENCODED, BROWSER_ACCEPT, "javascript:alert(1)", None),
        (URLENCODED, BROWSER_ACCEPT, "//evil.example/x", None),
        (URLENCODED, BROWSER_ACCEPT, "https://a.example/\r\nSet-Cookie: x=1", None),
        (URLENCODED, BROWSER_ACCEPT, "https://a.example/" + "p" * 2000, None),
    ],
)
def test_only_a_browser_form_post_is_redirected(
    content_type: str, accept: str | None, referer: str | None, redirect_to: str | None
) -> None:
    body = b'{"email": "a@acme.com"}' if content_type == "application/json" else b"email=a%40acme.com"
    form_post = post(body, content_type=content_type, accept=accept, referer=referer)
    assert read_form(form_post, {}).redirect_to == redirect_to
    assert is_browser_post(form_post) is (content_type == URLENCODED and accept == BROWSER_ACCEPT)


def test_a_thank_you_page_is_for_browsers_only() -> None:
    settings = {"contact": FormSettings(thank_you_url="https://acme.com/thanks")}
    assert read({"email": "a@acme.com"}, settings, accept="application/json").redirect_to is None


# --- the rule file's forms: section ------------------------------------------------------------------

FORMS = """
forms:
  contact:
    thank_you_url: https://www.acme-robotics.com/thanks
  demo-request:
    event: Demo Requested
    honeypot: website_url
    fields:
      How big is your team?: employees
      dept: department
  '123':
    fields: {Role: persona}
"""


def test_a_forms_section_in_the_rule_file_validates() -> None:
    forms = parse_rules(SMALL_RULES + FORMS).file.forms
    assert set(forms) == {"contact", "demo-request", "123"}
    assert forms["contact"] == FormSettings(thank_you_url="https://www.acme-robotics.com/thanks")
    demo = forms["demo-request"]
    assert (demo.event, demo.honeypot, demo.thank_you_url) == ("Demo Requested", "website_url", None)
    assert demo.fields == {"How big is your team?": "employees", "dept": "department"}
    assert parse_rules(SMALL_RULES).file.forms == {}
    assert load_rules("rules/default.yaml").file.forms == {}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            ("thank_you_url: https://www.acme-robotics.com/thanks", "thank_you_url: javascript:alert(1)"),
            "forms.contact.thank_you_url",
            "thank_you_url must be an absolute, percent-encoded http(s) URL",
        ),
        (
            ("https://www.acme-robotics.com/thanks", "https://acme.com/merci à vous"),
            "forms.contact.thank_you_url",
            "thank_you_url must be an absolute, percent-encoded http(s) URL",
        ),
        (("https://www.acme-robotics.com/thanks", "/thanks"), "forms.contact.thank_you_url", "thank_you_url"),
        (("    event: Demo", "    redirect: /thanks"), "forms.demo-request.redirect", "unknown field"),
        (("      dept: department", "      dept: spam"), "forms.demo-request.fields", "'dept' cannot map to"),
        (("    event: Demo Requested", "    event: ''"), "forms.demo-request.event", "String should have at"),
        (("  demo-request:", "  demo request:"), "forms.demo request", "String should match pattern"),
        (("  '123':", "  123:"), "forms.123", "write 123 in quotes ('123')"),
        (("      dept: department", "      404: department"), "forms.demo-request.fields.404", "write 404"),
    ],
)
def test_a_bad_forms_section_is_reported_naming_the_field(
    change: tuple[str, str], field: str, message: str
) -> None:
    text = SMALL_RULES + FORMS.replace(*change)
    with pytest.raises(RuleFileError) as raised:
        parse_rules(text, "broken.yaml")
    [error] = raised.value.errors
    assert error.field == field
    assert error.message.startswith(message)
    assert error.line is not None
