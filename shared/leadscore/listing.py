"""Sales' lists: the leads, and the accounts, of a band, highest score first, a page at a time.

A list reads the band index (``LeadRepository.leads_in_bands``), never the table: the leads above the
lowest band, the ones sales work. Scores are read as of the first page's time, which the cursor
carries, so the pages of one list agree with each other whatever decay does meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from leadscore.alerts import display_name, trait_text
from leadscore.engine import AccountScore, LeadScore, score_account, score_lead
from leadscore.lookup import turned_hot, waiting_since
from leadscore.ports import LeadRepository
from leadscore.records import FollowUp, LeadRecord, LeadSummary
from leadscore.rules import RuleSet
from leadscore.segment import InvalidMessage

DEFAULT_PAGE = 50
MAX_PAGE = 200


class ListQuery(BaseModel):
    """What every list takes: a band, how many per page, and the cursor of the previous page."""

    model_config = ConfigDict(extra="forbid")

    band: str | None = Field(default=None, description="A band name; every listed band when left out")
    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(default=None, description="`next_cursor` of the previous page")


class LeadListQuery(ListQuery):
    stage: str | None = None
    grade: str | None = None
    owner: str | None = Field(default=None, description="The lead's `owner` trait (any case)")
    region: str | None = Field(default=None, description="The lead's `region` or `country` trait (any case)")


class LeadListItem(LeadSummary):
    """A lead's figures as of the list's time, who it is, and where sales stand with it."""

    lead_id: str
    account_id: str | None
    name: str | None
    company: str | None
    turned_hot_at: datetime | None = Field(description="When the lead last entered an alerting band")
    waiting_since: datetime | None = Field(description="Turned hot, and no follow-up recorded since")
    follow_up: FollowUp | None


class LeadPage(BaseModel):
    leads: list[LeadListItem]
    next_cursor: str | None


class AccountPage(BaseModel):
    accounts: list[AccountScore]
    next_cursor: str | None


def listed_bands(rules: RuleSet) -> list[str]:
    """Every band but the lowest: the lowest holds every lead that has done little, and listing it would
    cost an index write for every new lead."""
    return [band.name for band in rules.bands[1:]]


def list_leads(repository: LeadRepository, rules: RuleSet, query: LeadListQuery, now: datetime) -> LeadPage:
    at, after = _cursor(query.cursor, now)
    bands = listed_bands(rules)
    if query.band is not None and query.band not in bands:
        raise InvalidMessage("band", f"must be one of {', '.join(bands)} (the lowest band is not listed)")
    # Decay lowers a band before the decay job rewrites the lead: a lead stored in a higher band may be
    # in this one now.
    stored_in = bands[bands.index(query.band) :] if query.band else bands
    scored = [(lead, score_lead(rules, lead.state, at)) for lead in repository.leads_in_bands(stored_in)]
    chosen = [(lead, score) for lead, score in scored if _matches(query, score, rules)]
    page, next_cursor = _page(
        chosen, query.limit, at, after, key=lambda pair: (pair[1].score, pair[0].lead_id)
    )
    follow_ups = repository.follow_ups_of([lead.lead_id for lead, _ in page])
    return LeadPage(
        leads=[_item(rules, lead, score, follow_ups.get(lead.lead_id)) for lead, score in page],
        next_cursor=next_cursor,
    )


def list_accounts(repository: LeadRepository, rules: RuleSet, query: ListQuery, now: datetime) -> AccountPage:
    """The accounts with someone above the lowest band, each scored from all its people."""
    at, after = _cursor(query.cursor, now)
    bands = [band.name for band in rules.file.accounts.bands]
    if query.band is not None and query.band not in bands:
        raise InvalidMessage("band", f"must be one of {', '.join(bands)}")
    listed = repository.leads_in_bands(listed_bands(rules))
    accounts = sorted({lead.state.account_id for lead in listed if lead.state.account_id is not None})
    scored = [
        score_account(rules, account, [score_lead(rules, member.state, at) for member in members], at)
        for account in accounts
        if (members := repository.leads_of_account(account))
    ]
    chosen = [account for account in scored if query.band in (None, account.band)]
    page, next_cursor = _page(
        chosen, query.limit, at, after, key=lambda account: (account.score, account.account_id)
    )
    return AccountPage(accounts=page, next_cursor=next_cursor)


def _matches(query: LeadListQuery, score: LeadScore, rules: RuleSet) -> bool:
    if (query.band and score.band != query.band) or rules.band_rank[score.band] <= 0:
        return False
    if (query.stage and score.stage != query.stage) or (query.grade and score.grade != query.grade):
        return False
    profile = score.profile
    if query.owner and not _same(profile.get("owner"), query.owner):
        return False
    return not query.region or any(_same(profile.get(trait), query.region) for trait in ("region", "country"))


def _same(trait: Any, wanted: str) -> bool:
    return isinstance(trait, str) and trait.strip().casefold() == wanted.strip().casefold()


def _item(rules: RuleSet, lead: LeadRecord, score: LeadScore, follow_up: FollowUp | None) -> LeadListItem:
    turned_at = turned_hot(rules, lead, score.band)
    return LeadListItem(
        **LeadSummary.of(score).model_dump(),
        lead_id=lead.lead_id,
        account_id=score.account_id,
        name=display_name(score.profile),
        company=trait_text(score.profile.get("company")),
        turned_hot_at=turned_at,
        waiting_since=waiting_since(turned_at, follow_up),
        follow_up=follow_up,
    )


Row = TypeVar("Row")


def _page(
    rows: Sequence[Row],
    limit: int,
    at: datetime,
    after: tuple[float, str] | None,
    *,
    key: Callable[[Row], tuple[float, str]],
) -> tuple[list[Row], str | None]:
    """Highest score first (ties by id), the rows after the previous page's last, and the next cursor."""
    ordered = sorted(rows, key=lambda row: (-key(row)[0], key(row)[1]))
    if after is not None:
        ordered = [row for row in ordered if (-key(row)[0], key(row)[1]) > (-after[0], after[1])]
    page = ordered[:limit]
    if len(ordered) <= limit:
        return page, None
    score, last = key(page[-1])
    token = json.dumps([int(at.timestamp()), score, last], separators=(",", ":"))
    return page, base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def _cursor(cursor: str | None, now: datetime) -> tuple[datetime, tuple[float, str] | None]:
    """The time the list is read as of, and the last row of the previous page."""
    if cursor is None:
        return now.replace(microsecond=0), None
    try:
        at, score, last = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(at, int) or not isinstance(score, int | float) or not isinstance(last, str):
            raise ValueError(cursor)
        return datetime.fromtimestamp(at, UTC), (float(score), last)
    except (ValueError, TypeError, binascii.Error, OverflowError, OSError) as error:
        raise InvalidMessage("cursor", "is not a cursor this API gave (use next_cursor as given)") from error
