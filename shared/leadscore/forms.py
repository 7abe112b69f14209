"""POST /v1/forms/{formId}: a form post (a plain HTML form or a form builder's webhook) as Segment messages.

:func:`read_form` decodes the body (url-encoded, multipart or JSON), takes out what is not the visitor's
data (the write key, the honeypot, an anonymous id), maps the fields it recognises to traits (the rule
file's ``forms:`` section adds more, per form), identifies the visitor by e-mail or anonymous id, notes
spam signals, and answers one ``identify`` and one ``track`` message in the wire shape, which the caller
validates and queues like any tracking call. Pure: no AWS, no clock, no ids (the caller stamps both).
docs/forms.md is the user-facing description; every default there is a constant here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import collapse_rfc2231_value
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from leadscore.email_kinds import email_domain, email_kind
from leadscore.rules.model import DEFAULT_FORM_EVENT, DEFAULT_HONEYPOT, FORM_ID_PATTERN, FormSettings
from leadscore.segment import MAX_ID_LENGTH, MAX_NUMBER, MAX_TRAIT_TEXT, InvalidMessage, loads

__all__ = [
    "DEFAULT_FORM_EVENT",
    "DEFAULT_HONEYPOT",
    "MAX_FIELDS",
    "MAX_NAME_CHARS",
    "MAX_TRAIT_CHARS",
    "MAX_VALUE_CHARS",
    "SPAM_REASONS",
    "TRAIT_ALIASES",
    "FormPost",
    "FormSettings",
    "FormSubmission",
    "is_browser_post",
    "read_form",
]

MAX_FIELDS = 100
MAX_NAME_CHARS = 100
MAX_VALUE_CHARS = 2_000
# The tracking API's bounds, checked here too so that the error names the form's field, not the trait.
MAX_TRAIT_CHARS = MAX_TRAIT_TEXT
MAX_ID_CHARS = MAX_ID_LENGTH
MAX_EMAIL_CHARS = 254
MAX_URL_CHARS = 2_000

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
JSON = "application/json"

WRITE_KEY = "writeKey"
ANONYMOUS_ID = "anonymousId"
# analytics.js (JSON-quoted, URL-encoded: %22abc%22), then RudderStack's JavaScript SDK (read when plain).
ANONYMOUS_ID_COOKIES = ("ajs_anonymous_id", "rl_anonymous_id")
_ENCRYPTED_COOKIE_PREFIXES = ("RudderEncrypt:", "RS_ENC_")

# Field names recognised on every form, compared without case or separators ("First Name", "first_name"
# and "firstName" are all "firstname"), mapped to the trait each becomes.
TRAIT_ALIASES: Mapping[str, tuple[str, ...]] = {
    "email": ("email", "emailaddress", "mail", "youremail", "workemail", "businessemail"),
    "name": ("name", "fullname", "yourname", "contactname"),
    "firstName": ("firstname", "fname", "givenname", "forename"),
    "lastName": ("lastname", "lname", "surname", "familyname"),
    "company": ("company", "companyname", "organization", "organisation", "organizationname", "org"),
    "title": ("title", "jobtitle", "role", "jobrole", "position"),
    "employees": ("employees", "companysize", "employeecount", "numberofemployees", "headcount"),
    "country": ("country", "countrycode"),
    "budget": ("budget",),
    "timeline": ("timeline", "timeframe", "purchasetimeline"),
    "use_case": ("usecase",),
    "phone": ("phone", "phonenumber", "telephone", "tel", "mobile"),
}
_ALIAS_TRAIT = {alias: trait for trait, aliases in TRAIT_ALIASES.items() for alias in aliases}

# Spam signals, in the order they are listed in ``spam_reasons``.
SPAM_REASONS = (
    "honeypot",  # the hidden honeypot field was filled in
    "invalid_email",  # the e-mail is not an address
    "disposable_email",  # a throw-away address (the disposable-email-domains list)
    "fake_email",  # a reserved or test domain: example.com, test.com, *.test, *.example, *.invalid ...
    "fake_name",  # a name or company that is a placeholder or a keyboard mash: test, asdf, qwerty, xxx ...
    "url_in_name",  # a name holding a link (http://, www.)
    "same_values",  # three or more fields besides the e-mail, all with one value
)
_FAKE_EMAIL_DOMAINS = frozenset({"example.com", "example.net", "example.org", "test.com"})
_FAKE_EMAIL_TLDS = frozenset({"test", "example", "invalid", "localhost"})
_FAKE_WORDS = frozenset(
    {"test", "testing", "tester", "asdf", "asdfg", "asdfgh", "asdfghjkl", "qwerty", "qwertz", "azerty"}
    | {"foo", "bar", "foobar", "fake", "dummy", "none", "null", "xxx", "xyz"}
)
_REPEATED_LETTER = re.compile(r"^(.)\1{2,}$")
_LINK = re.compile(r"https?://|www\.|\[url", re.IGNORECASE)
_NAME_TRAITS = ("name", "firstName", "lastName")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# JSON's "\ud800" decodes to a lone surrogate, which no UTF-8 encoder (the queue's) can write.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SEPARATORS = re.compile(r"[\W_]")
_BRACKETED = re.compile(r"^[^\[\]]+\[([^\[\]]+)\]$")
_WHOLE_NUMBER = re.compile(r"^\d{1,3}(?:,\d{3})+$|^\d+$")
_FORM_ID = re.compile(FORM_ID_PATTERN)

Scalar = str | int | float | bool
Value = Scalar | list[Scalar]


@dataclass(frozen=True)
class FormPost:
    """One request to POST /v1/forms/{formId}, as the HTTP layer received it."""

    form_id: str
    body: bytes  # already decompressed, size-capped by the caller
    content_type: str | None  # the Content-Type header, with parameters (boundary=...)
    query: str  # raw query string ("" if none)
    cookie: str | None  # the Cookie header
    accept: str | None  # the Accept header
    referer: str | None  # the Referer header


@dataclass(frozen=True)
class FormSubmission:
    write_key: str | None  # from a hidden `writeKey` field or the query string `writeKey`
    messages: list[dict[str, Any]]  # identify then track, Segment's wire shape; no messageId, no timestamp
    redirect_to: str | None  # where a browser is sent with 303 after the post; None: answer JSON


def read_form(post: FormPost, settings: Mapping[str, FormSettings]) -> FormSubmission:
    """The post's messages; raises :class:`InvalidMessage` naming the field for anything refused."""
    if not _FORM_ID.fullmatch(post.form_id):
        raise InvalidMessage("formId", "must be 1 to 100 letters, digits, '_', '.', ':' or '-'")
    form = settings.get(post.form_id) or FormSettings()
    media_type = _media_type(post.content_type)
    fields = _Fields(form)
    if media_type == URLENCODED:
        _read_urlencoded(post.body, _charset(post.content_type), fields)
    elif media_type == MULTIPART:
        _read_multipart(post.body, post.content_type or "", fields)
    else:
        _read_json(post.body, fields)
    write_key = fields.write_key or _query_write_key(post.query)
    anonymous_id = fields.anonymous_id or _cookie_anonymous_id(post.cookie)
    traits, properties = _split(fields.values(), form)
    ids = _identity(traits.get("email"), anonymous_id)
    reasons = _spam_reasons(fields.honeypot_filled, traits, properties)
    signals = {"spam": bool(reasons), "spam_reasons": reasons}
    messages = [
        {"type": "identify", **ids, "traits": {**traits, **signals}},
        {
            "type": "track",
            **ids,
            "event": form.event,
            "properties": {**properties, "form_id": post.form_id, **signals},
        },
    ]
    redirect_to = (form.thank_you_url or _safe_referer(post.referer)) if is_browser_post(post) else None
    return FormSubmission(write_key=write_key, messages=messages, redirect_to=redirect_to)


def is_browser_post(post: FormPost) -> bool:
    """A browser submitting a form (it wants a page back), not a script or a webhook (they want JSON)."""
    try:
        media_type = _media_type(post.content_type)
    except InvalidMessage:
        media_type = ""
    return media_type in (URLENCODED, MULTIPART) and "text/html" in (post.accept or "").lower()


# --- fields ------------------------------------------------------------------------------------------


class _Fields:
    """The fields as posted, bounded and checked; the write key, anonymous id and honeypot set aside."""

    def __init__(self, form: FormSettings) -> None:
        self._honeypot = form.honeypot
        self._count = 0
        self._posted: list[tuple[str, Value]] = []
        self.write_key: str | None = None
        self.anonymous_id: str | None = None
        self.honeypot_filled = False

    def count(self, items: int = 1) -> None:
        """Every field counts towards the bound, files and empty ones too."""
        self._count += items
        if self._count > MAX_FIELDS:
            raise InvalidMessage("body", f"has more than {MAX_FIELDS} fields")

    def add(self, name: str, raw: Any) -> None:
        self.count(len(raw) if isinstance(raw, list) else 1)
        name = _checked_name(name)
        value = _checked_value(name, raw)
        if name == self._honeypot:
            self.honeypot_filled = self.honeypot_filled or _filled(value)
        elif _key(name) == _key(WRITE_KEY):
            self.write_key = _text_of(name, value) or self.write_key
        elif _key(name) == _key(ANONYMOUS_ID):
            self.anonymous_id = _checked_id(name, _text_of(name, value)) or self.anonymous_id
        else:
            self._posted.append((name, value))

    def values(self) -> dict[str, Value]:
        """One value per field: the last non-empty one, or every value of a ``name[]`` field as a list."""
        collapsed: dict[str, Value] = {}
        for name, value in self._posted:
            if name.endswith("[]") and len(name) > 2:
                items = value if isinstance(value, list) else [value]
                previous = collapsed.get(name[:-2])
                kept = previous if isinstance(previous, list) else []
                collapsed[name[:-2]] = [*kept, *(item for item in items if _filled(item))]
            elif isinstance(value, list):
                collapsed[name] = [item for item in value if _filled(item)]
            elif _filled(value):
                collapsed[name] = value
        return {name: value for name, value in collapsed.items() if _filled(value)}


def _checked_name(name: str) -> str:
    if not name:
        raise InvalidMessage("body", "has a field without a name")
    shown = _CONTROL.sub("?", name)
    if len(shown) > 40:
        shown = shown[:40] + "..."
    if _CONTROL.search(name):
        raise InvalidMessage(shown, "field names may not contain control characters")
    if _SURROGATE.search(name):
        raise InvalidMessage(_SURROGATE.sub("?", shown), "is not valid Unicode text")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidMessage(shown, f"field names are at most {MAX_NAME_CHARS} characters")
    return name


def _checked_value(name: str, raw: Any) -> Value:
    if isinstance(raw, list):
        return [_checked_scalar(name, item, listed=True) for item in raw if item is not None]
    if raw is None:
        return ""
    return _checked_scalar(name, raw, listed=False)


def _checked_scalar(name: str, raw: Any, *, listed: bool) -> Scalar:
    if isinstance(raw, str):
        value = raw.strip()
        if len(value) > MAX_VALUE_CHARS:
            raise InvalidMessage(name, f"is longer than {MAX_VALUE_CHARS:,} characters")
        if _SURROGATE.search(value):
            raise InvalidMessage(name, "is not valid Unicode text")
        return value
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float):
        if not abs(raw) <= MAX_NUMBER:  # also false for NaN
            raise InvalidMessage(name, f"must be a number no larger than 2^53 ({MAX_NUMBER})")
        return raw
    what = "text, a number or true/false" if listed else "text, a number, true/false or a list of those"
    raise InvalidMessage(name, f"must be {what}")


def _filled(value: Value) -> bool:
    return value not in ("", [])


def _text_of(name: str, value: Value) -> str | None:
    if isinstance(value, list | bool):
        raise InvalidMessage(name, "must be text")
    return str(value) if value != "" else None


def _checked_id(name: str, value: str | None) -> str | None:
    if value is not None and len(value) > MAX_ID_CHARS:
        raise InvalidMessage(name, f"is longer than {MAX_ID_CHARS} characters")
    if value is not None and _CONTROL.search(value):
        raise InvalidMessage(name, "must not contain control characters (line breaks, tabs, ...)")
    return value


def _key(name: str) -> str:
    """How names are compared: the inside of ``form_fields[email]``, without case or separators."""
    name = name.removesuffix("[]")
    bracketed = _BRACKETED.match(name)
    return _SEPARATORS.sub("", (bracketed.group(1) if bracketed else name).casefold())


# --- bodies ------------------------------------------------------------------------------------------


def _media_type(content_type: str | None) -> str:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if not media_type:
        raise InvalidMessage("Content-Type", f"is required: {URLENCODED}, {MULTIPART} or {JSON}")
    if media_type in (URLENCODED, MULTIPART, JSON):
        return media_type
    if media_type.startswith("application/") and media_type.endswith("+json"):
        return JSON
    raise InvalidMessage(
        "Content-Type", f"{media_type!r} is not supported: send {URLENCODED}, {MULTIPART} or {JSON}"
    )


def _header(content_type: str) -> Message:
    if "\r" in content_type or "\n" in content_type:
        raise InvalidMessage("Content-Type", "must be one line")
    header = Message()
    header["Content-Type"] = content_type
    return header


def _charset(content_type: str | None) -> str:
    charset = _header(content_type or "").get_content_charset() or "utf-8"
    try:
        "".encode(charset)
    except LookupError:
        raise InvalidMessage("Content-Type", f"unknown charset {charset!r}") from None
    return charset


def _read_urlencoded(body: bytes, charset: str, fields: _Fields) -> None:
    try:
        text = body.decode(charset)
        pairs = parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict")
    except (UnicodeDecodeError, UnicodeEncodeError):
        raise InvalidMessage("body", f"is not valid {charset} form data") from None
    for name, value in pairs:
        fields.add(name, value)


def _read_multipart(body: bytes, content_type: str, fields: _Fields) -> None:
    if not _header(content_type).get_param("boundary"):
        raise InvalidMessage("Content-Type", f"{MULTIPART} needs a boundary parameter")
    head = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
    # The HTTP policy reads parameters as RFC 7578 has browsers send them: raw UTF-8 (compat32 would not).
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    parts = message.get_payload()
    if not message.is_multipart() or not isinstance(parts, list):
        raise InvalidMessage("body", f"is not {MULTIPART}: the boundary was not found")
    for part in parts:
        if not isinstance(part, Message):
            continue
        if part.get_filename() is not None or part.is_multipart():
            fields.count()  # a file: counted, never read or kept
            continue
        name = _part_name(part)
        if part.get("Content-Type") is not None and part.get_content_maintype() != "text":
            raise InvalidMessage(_checked_name(name), "must be text (files need a filename)")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        charset = part.get_content_charset() or "utf-8"
        try:
            value = data.decode(charset)
        except (UnicodeDecodeError, LookupError):
            raise InvalidMessage(_checked_name(name), f"is not valid {charset} text") from None
        fields.add(name, value)


def _part_name(part: Message) -> str:
    raw = part.get_param("name", header="content-disposition")
    if raw is None:
        raise InvalidMessage("body", f"has a {MULTIPART} part without a name")
    return collapse_rfc2231_value(raw)


def _read_json(body: bytes, fields: _Fields) -> None:
    payload = loads(body)  # the tracking API's bounded decoding: UTF-8, no NaN, no 5,000-digit numbers
    if not isinstance(payload, dict):
        raise InvalidMessage("body", "must be a JSON object")
    for name, value in _json_fields(payload):
        fields.add(name, value)


def _json_fields(payload: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """A flat object; or an object whose ``fields`` (or else ``data``) holds the fields, as an object or
    a list of ``{"name", "value"}`` objects, next to a top-level ``writeKey`` and ``anonymousId``."""
    container = next((key for key in ("fields", "data") if isinstance(payload.get(key), dict | list)), None)
    if container is None:
        yield from payload.items()
        return
    for key in (WRITE_KEY, ANONYMOUS_ID):
        if key in payload:
            yield key, payload[key]
    inner = payload[container]
    if isinstance(inner, dict):
        yield from inner.items()
        return
    for index, item in enumerate(inner):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidMessage(f"{container}[{index}]", "must be an object with a name and a value")
        yield item["name"], item.get("value")


# --- what the fields say -----------------------------------------------------------------------------


def _split(values: Mapping[str, Value], form: FormSettings) -> tuple[dict[str, Value], dict[str, Value]]:
    """Traits (the recognised and the form's mapped fields) and properties (the rest)."""
    mapped = {_key(source): trait for source, trait in form.fields.items()}
    traits: dict[str, Value] = {}
    properties: dict[str, Value] = {}
    for name, value in values.items():
        key = _key(name)
        trait = (mapped.get(key) or _ALIAS_TRAIT.get(key)) if key else None
        if trait is None:
            properties[name] = value
        else:
            traits[trait] = _trait_value(name, trait, value)
    return traits, properties


def contact_traits(row: Mapping[str, str], form: FormSettings | None = None) -> dict[str, Value]:
    """A contact's traits (a CRM row), read as a form's fields are: the recognised names and the form's
    mapping give the trait; any other column is kept as a trait under its own name, so a rule can read
    it. Empty cells are left out."""
    values: dict[str, Value] = {
        name.strip(): value.strip() for name, value in row.items() if name and value and value.strip()
    }
    traits, others = _split(values, form or FormSettings())
    return {**others, **traits}


def _trait_value(name: str, trait: str, value: Value) -> Value:
    texts = value if isinstance(value, list) else [value]
    if any(isinstance(text, str) and len(text) > MAX_TRAIT_CHARS for text in texts):
        raise InvalidMessage(name, f"is longer than {MAX_TRAIT_CHARS:,} characters (the limit for a trait)")
    if trait == "email":
        if not isinstance(value, str):
            raise InvalidMessage(name, "must be text")
        return value.lower()
    if trait == "employees" and isinstance(value, str) and _WHOLE_NUMBER.match(value):
        number = int(value.replace(",", ""))
        return number if number <= MAX_NUMBER else value
    return value


def _identity(email: Value | None, anonymous_id: str | None) -> dict[str, str]:
    """userId is the e-mail when it is an address; anonymousId links the post to the browsing before it."""
    ids: dict[str, str] = {}
    if isinstance(email, str) and len(email) <= MAX_EMAIL_CHARS and email_domain(email) is not None:
        ids["userId"] = email
    if anonymous_id is not None:
        ids["anonymousId"] = anonymous_id
    if not ids:
        anonymous = f"an anonymous id (the {ANONYMOUS_ID_COOKIES[0]} cookie or an {ANONYMOUS_ID} field)"
        if email is not None:
            raise InvalidMessage("email", f"is not a valid e-mail address, and there is no {anonymous}")
        raise InvalidMessage("email", f"is required, or {anonymous}")
    return ids


def _query_write_key(query: str) -> str | None:
    pairs = parse_qsl(query, keep_blank_values=True)
    keys = [value.strip() for name, value in pairs if _key(name) == _key(WRITE_KEY)]
    return next((key for key in reversed(keys) if key), None)


def _cookie_anonymous_id(cookie: str | None) -> str | None:
    """analytics.js's id (``%22abc-123%22``), else RudderStack's when it is not encrypted; junk is skipped."""
    jar: dict[str, str] = {}
    for crumb in (cookie or "").split(";"):
        name, equals, value = crumb.partition("=")
        if equals:
            jar.setdefault(name.strip(), value.strip())
    for name in ANONYMOUS_ID_COOKIES:
        value = unquote(jar.get(name, ""))
        if len(value) >= 2 and value[0] == value[-1] == '"':
            try:
                decoded = json.loads(value)
            except json.JSONDecodeError:
                continue
            value = decoded if isinstance(decoded, str) else ""
        value = value.strip()
        if (
            value
            and len(value) <= MAX_ID_CHARS
            and not _CONTROL.search(value)
            and not _SURROGATE.search(value)
            and not value.startswith(_ENCRYPTED_COOKIE_PREFIXES)
        ):
            return value
    return None


def _safe_referer(referer: str | None) -> str | None:
    """The page the form was on, if it is an http(s) URL a Location header can carry as is."""
    if not referer or len(referer) > MAX_URL_CHARS or _CONTROL.search(referer) or " " in referer:
        return None
    try:
        parts = urlsplit(referer)
    except ValueError:
        return None
    return referer if parts.scheme in ("http", "https") and parts.netloc else None


# --- spam signals ------------------------------------------------------------------------------------


def _spam_reasons(
    honeypot_filled: bool, traits: Mapping[str, Value], properties: Mapping[str, Value]
) -> list[str]:
    found: set[str] = set()
    if honeypot_filled:
        found.add("honeypot")
    email = traits.get("email")
    if isinstance(email, str):
        found.update(_email_reasons(email))
    if any(_is_fake(traits.get(trait)) for trait in (*_NAME_TRAITS, "company")):
        found.add("fake_name")
    if any(_LINK.search(str(traits.get(trait, ""))) for trait in _NAME_TRAITS):
        found.add("url_in_name")
    others = [value for trait, value in traits.items() if trait != "email"] + list(properties.values())
    if len(others) >= 3 and len({json.dumps(value).casefold() for value in others}) == 1:
        found.add("same_values")
    return [reason for reason in SPAM_REASONS if reason in found]


def _email_reasons(email: str) -> list[str]:
    kind = email_kind(email)
    if kind == "invalid":
        return ["invalid_email"]
    if kind == "disposable":
        return ["disposable_email"]
    domain = email_domain(email) or ""
    if domain in _FAKE_EMAIL_DOMAINS or domain.rsplit(".", 1)[-1] in _FAKE_EMAIL_TLDS:
        return ["fake_email"]
    return []


def _is_fake(name: Value | None) -> bool:
    """Every word is a placeholder (test, asdf, ...) or one letter typed three times or more."""
    if not isinstance(name, str):
        return False
    words = [_SEPARATORS.sub("", word) for word in name.casefold().split()]
    words = [word for word in words if word]
    return bool(words) and all(word in _FAKE_WORDS or _REPEATED_LETTER.match(word) for word in words)
