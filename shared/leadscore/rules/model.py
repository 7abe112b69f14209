"""The rule file's structure: every construct a rule owner can write, validated as a whole."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from leadscore.rules.conditions import Condition

Dimension = Literal["fit", "engagement"]
Period = Literal["day", "week", "ever"]
DISQUALIFIED = "disqualified"
RuleId = str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Group(_Strict):
    """A family of rules sharing a dimension and a decay: a half-life, an expiry, or none."""

    dimension: Dimension
    half_life_days: PositiveFloat | None = None
    expires_after_days: PositiveFloat | None = None
    description: str = ""

    @model_validator(mode="after")
    def _one_decay(self) -> Group:
        if self.half_life_days is not None and self.expires_after_days is not None:
            raise ValueError("give a group either half_life_days or expires_after_days, not both")
        return self

    @property
    def decays(self) -> bool:
        return self.half_life_days is not None or self.expires_after_days is not None


class Limit(_Strict):
    """At most ``times`` hits or ``points`` points per calendar day (UTC), ISO week, or ever."""

    times: PositiveInt | None = None
    points: PositiveFloat | None = None
    per: Period

    @model_validator(mode="before")
    @classmethod
    def _once(cls, value: Any) -> Any:
        if value == "once":
            return {"times": 1, "per": "ever"}
        if not isinstance(value, dict):
            raise ValueError(f"a limit is `once` or {{times: N, per: day|week|ever}}, not {value!r}")
        return value

    @model_validator(mode="after")
    def _one_cap(self) -> Limit:
        if (self.times is None) == (self.points is None):
            raise ValueError("a limit gives exactly one of times or points")
        return self


class Repeat(_Strict):
    """The rule scores when ``at_least`` matching events fall within ``within_days``."""

    at_least: int = Field(ge=2)
    within_days: PositiveFloat


class _Rule(_Strict):
    id: RuleId = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=48)
    description: str = ""
    points: float
    when: Condition

    @property
    def label(self) -> str:
        return self.description or self.id


class FitRule(_Rule):
    """Points for who the lead is: holds while the lead's profile matches."""

    group: str = "fit"


class EngagementRule(_Rule):
    """Points for each matching event, within the rule's limit; or once a repeat threshold is reached."""

    group: str = "engagement"
    limit: Limit | None = None
    repeat: Repeat | None = None

    @cached_property
    def effective_limit(self) -> Limit | None:
        if self.limit is None and self.repeat is not None:
            return Limit(times=1, per="week")
        return self.limit


class Disqualifier(_Strict):
    id: RuleId = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=48)
    reason: str
    when: Condition


class FastTrack(_Strict):
    """Routes a lead to ``band`` at once, for ``hold_days`` after the event that matched."""

    id: RuleId = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=48)
    reason: str
    when: Condition
    band: str | None = None
    hold_days: PositiveFloat = 14


class Band(_Strict):
    """A lead enters at ``enter`` points and leaves only below ``exit`` (hysteresis)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    enter: float | None = None
    exit: float | None = None
    alert: bool = False
    description: str = ""

    @property
    def leave_below(self) -> float | None:
        return self.exit if self.exit is not None else self.enter


class MqlStage(_Strict):
    band: str


class SqlStage(_Strict):
    when: Condition


class RecycleStage(_Strict):
    below: str


class Stages(_Strict):
    """Lifecycle stages tied to bands: reaching ``mql.band`` (or a fast-track) makes a lead an MQL."""

    mql: MqlStage
    sql: SqlStage | None = None
    recycle: RecycleStage | None = None


class GradeScale(_Strict):
    """Minimum points for each letter (fit) or digit (engagement); below the last is D or 4."""

    first: float
    second: float
    third: float

    @model_validator(mode="after")
    def _descending(self) -> GradeScale:
        if not self.first > self.second > self.third:
            raise ValueError(
                f"grade thresholds must fall strictly from the best step down, got "
                f"{self.first:g}, {self.second:g}, {self.third:g}"
            )
        return self

    def rank(self, points: float) -> int:
        """1 for the best step, 4 below the third threshold."""
        for step, threshold in enumerate((self.first, self.second, self.third), start=1):
            if points >= threshold:
                return step
        return 4


class FitGrades(_Strict):
    A: float
    B: float
    C: float

    @cached_property
    def scale(self) -> GradeScale:
        return GradeScale(first=self.A, second=self.B, third=self.C)

    @model_validator(mode="after")
    def _checked(self) -> FitGrades:
        _ = self.scale
        return self


class EngagementGrades(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    one: float = Field(alias="1")
    two: float = Field(alias="2")
    three: float = Field(alias="3")

    @model_validator(mode="before")
    @classmethod
    def _digit_keys(cls, value: Any) -> Any:
        """YAML reads ``1:`` as a number."""
        return {str(key): item for key, item in value.items()} if isinstance(value, dict) else value

    @cached_property
    def scale(self) -> GradeScale:
        return GradeScale(first=self.one, second=self.two, third=self.three)

    @model_validator(mode="after")
    def _checked(self) -> EngagementGrades:
        _ = self.scale
        return self


class Grade(_Strict):
    """The fit x engagement matrix: A1 is a perfect fit that is very engaged, D4 neither."""

    fit: FitGrades
    engagement: EngagementGrades

    def of(self, fit: float, engagement: float) -> str:
        return "ABCD"[self.fit.scale.rank(fit) - 1] + str(self.engagement.scale.rank(engagement))


class SharpRise(_Strict):
    points: PositiveFloat
    within_hours: PositiveFloat


class Alerting(_Strict):
    """How often a lead may alert: a band entered or a disqualification of the same kind at most once
    per cool-down, however often its band flips (a trait toggled, a title corrected)."""

    cool_down_hours: float = Field(default=24, ge=0)
    # A lead that turned hot (or was fast-tracked) with no follow-up this long after gets one reminder
    # alert; null: no reminders.
    remind_after_hours: float | None = Field(default=24, gt=0)
    # A link in each alert, e.g. "https://crm.example.com/contacts?email={lead_id}" ({lead_id}, {account_id}).
    link: str | None = Field(default=None, pattern=r"^https?://\S+$")


class AccountBand(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    at_least: float


class Accounts(_Strict):
    """How leads roll up: the account score sums its best ``top_leads`` people."""

    top_leads: PositiveInt = 5
    engaged_at_least: float = 10
    bands: list[AccountBand] = Field(min_length=1)


class EmailLists(_Strict):
    competitors: list[str] = Field(default_factory=list)


# Forms (POST /v1/forms/{formId}, read by leadscore.forms): the defaults a form gets without configuration.
FORM_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
DEFAULT_FORM_EVENT = "Form Submitted"
DEFAULT_HONEYPOT = "_hp"
# Traits the form reader sets itself; a mapping may not write them.
FORM_SIGNAL_TRAITS = ("spam", "spam_reasons")

_FieldName = Annotated[str, Field(min_length=1, max_length=100)]


def _text_key(value: Any) -> Any:
    """YAML reads ``123:`` or ``yes:`` as a number or a boolean; the key must be written as text."""
    if not isinstance(value, str):
        raise ValueError(f"write {value!r} in quotes ('{value}'): YAML reads it as a {type(value).__name__}")
    return value


FormId = Annotated[str, BeforeValidator(_text_key), Field(pattern=FORM_ID_PATTERN)]


class FormSettings(_Strict):
    """One form's settings: extra fields mapped to traits, where a browser goes after posting, the event."""

    fields: dict[Annotated[_FieldName, BeforeValidator(_text_key)], _FieldName] = Field(default_factory=dict)
    thank_you_url: str | None = Field(default=None, max_length=2000)
    event: str = Field(default=DEFAULT_FORM_EVENT, min_length=1, max_length=200)
    honeypot: _FieldName = DEFAULT_HONEYPOT

    @field_validator("fields")
    @classmethod
    def _not_signals(cls, fields: dict[str, str]) -> dict[str, str]:
        for source, trait in fields.items():
            if trait in FORM_SIGNAL_TRAITS:
                raise ValueError(f"{source!r} cannot map to {trait!r}: the service sets that trait itself")
        return fields

    @field_validator("thank_you_url")
    @classmethod
    def _absolute(cls, url: str | None) -> str | None:
        if url is not None:
            parts = urlsplit(url)
            # What a Location header carries as is: printable ASCII, no spaces.
            printable = all("!" <= character <= "~" for character in url)
            if parts.scheme not in ("http", "https") or not parts.netloc or not printable:
                raise ValueError(f"thank_you_url must be an absolute, percent-encoded http(s) URL: {url!r}")
        return url


class RuleFile(_Strict):
    """The whole file as written; :class:`leadscore.rules.RuleSet` adds the cross-checks and lookups."""

    description: str = ""
    email: EmailLists = Field(default_factory=EmailLists)
    groups: dict[str, Group]
    fit: list[FitRule] = Field(default_factory=list)
    engagement: list[EngagementRule] = Field(default_factory=list)
    disqualifiers: list[Disqualifier] = Field(default_factory=list)
    fast_track: list[FastTrack] = Field(default_factory=list)
    bands: list[Band] = Field(min_length=1)
    stages: Stages
    grade: Grade
    sharp_rise: SharpRise | None = None
    alerts: Alerting = Field(default_factory=Alerting)
    accounts: Accounts
    forms: dict[FormId, FormSettings] = Field(default_factory=dict)
