"""The reference workload: what a B2B site's trackers send in two hours, as Segment-shaped messages.

- 2,000 leads whose popularity follows Zipf(1.1): lead ``k`` (1-based) is picked for a visit with weight
  ``k ** -1.1``, so a few leads come back often and most come once or never in an hour.
- A visit is a burst of 3 to 15 events, 1 to 20 s apart; visits start uniformly over the hour and
  interleave in time. Visits are drawn until the hour holds 10,000 events (the last one is cut short).
- A lead identifies (e-mail, title, company size as ``employees``, country) with the first event of its
  first visit; later visits are pages and tracks, with the occasional re-identify a logged-in site sends.
- Event names and pages are the ones ``rules/default.yaml`` scores (pricing, product pages, demo
  requests, webinars, downloads, e-mail opens and clicks, careers...) plus pages no rule scores.

Two passes: **new leads** (hour 1, on an empty table) and **known leads**: the same leads' second hour
(new visits drawn the same way among the leads hour 1 saw, new message ids, timestamps an hour later).
Seeded: the same seed gives the same messages, in arrival (timestamp) order, whatever ``start`` is.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

LEADS = 2_000
EVENTS_PER_HOUR = 10_000
ZIPF_EXPONENT = 1.1
BURST_EVENTS = (3, 15)
GAP_SECONDS = (1.0, 20.0)
HOUR = timedelta(hours=1)
SEED = 20_241_124
# Share of a known lead's visits that start with a re-identify (a logged-in site identifies on page load).
REIDENTIFY_SHARE = 0.1

# (path, title, weight): pages the default rules score, and the ones they do not.
PAGES = (
    ("/", "Home", 14),
    ("/pricing", "Pricing", 9),
    ("/pricing/teams", "Pricing for teams", 3),
    ("/product", "Product", 8),
    ("/product/scoring", "Lead scoring", 5),
    ("/integrations/salesforce", "Salesforce integration", 3),
    ("/customers", "Customers", 3),
    ("/customers/globex", "Globex case study", 2),
    ("/blog/what-is-lead-scoring", "What is lead scoring?", 8),
    ("/blog/mql-vs-sql", "MQL vs SQL", 5),
    ("/docs/getting-started", "Getting started", 5),
    ("/careers", "Careers", 2),
    ("/careers/backend-engineer", "Backend engineer", 1),
    ("/about", "About us", 2),
)
# (event, properties, weight)
TRACKS: tuple[tuple[str, dict[str, Any], int], ...] = (
    ("Email Opened", {"campaign": "nurture-3"}, 9),
    ("Email Link Clicked", {"campaign": "nurture-3", "link": "/pricing"}, 6),
    ("Whitepaper Downloaded", {"asset": "state-of-b2b-2026"}, 4),
    ("Ebook Downloaded", {"asset": "scoring-playbook"}, 2),
    ("Case Study Downloaded", {"asset": "globex"}, 1),
    ("Webinar Registered", {"webinar": "scoring-101"}, 3),
    ("Webinar Attended", {"webinar": "scoring-101", "minutes_watched": 34}, 2),
    ("Form Submitted", {"form": "newsletter"}, 2),
    ("Trial Started", {"plan": "teams"}, 1),
    ("Demo Requested", {"plan": "enterprise"}, 1),
    ("Quote Requested", {"seats": 50}, 1),
    ("Contact Sales Submitted", {"topic": "pricing"}, 1),
    ("Email Unsubscribed", {"campaign": "nurture-3"}, 1),
    ("Job Application Submitted", {"role": "backend-engineer"}, 1),
)
PAGE_SHARE = 0.65

FIRST_NAMES = ("ana", "ben", "chloe", "dev", "emma", "farid", "grace", "hugo", "ines", "jonas", "kai", "lea")
LAST_NAMES = ("smith", "garcia", "muller", "rossi", "tanaka", "okafor", "nguyen", "dubois", "kowalski")
TITLES = (
    ("VP Engineering", 6),
    ("Director of Marketing", 6),
    ("Head of Revenue Operations", 4),
    ("Marketing Manager", 10),
    ("Sales Team Lead", 5),
    ("Software Engineer", 12),
    ("Marketing Specialist", 10),
    ("Chief Technology Officer", 2),
    ("CEO", 2),
    ("Founder", 2),
    ("Student", 2),
    ("Analyst", 8),
)
COUNTRIES = (("US", 40), ("GB", 10), ("DE", 10), ("FR", 6), ("CA", 5), ("IN", 10), ("BR", 6), ("AU", 5))
FREE_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com")
FREE_EMAIL_SHARE = 0.2
COMPANIES = 400
COMPANY_SIZES = (5, 8, 25, 60, 150, 400, 1_200, 3_000, 8_000, 25_000)


@dataclass(frozen=True)
class Workload:
    """The two passes: ``new_leads`` (hour 1) and ``known_leads`` (hour 2), each in arrival order."""

    start: datetime
    new_leads: list[dict[str, Any]]
    known_leads: list[dict[str, Any]]


@dataclass(frozen=True)
class _Lead:
    user_id: str
    traits: dict[str, Any]


def reference_workload(
    start: datetime | None = None,
    *,
    seed: int = SEED,
    leads: int = LEADS,
    events_per_hour: int = EVENTS_PER_HOUR,
) -> Workload:
    """Hour 1 starts at ``start`` (default: two hours before now, on the minute, so both hours are past)."""
    if start is None:
        start = (datetime.now(UTC) - 2 * HOUR).replace(second=0, microsecond=0)
    rng = random.Random(seed)
    people = [_person(rng, number) for number in range(leads)]
    weights = [(rank + 1) ** -ZIPF_EXPONENT for rank in range(leads)]
    first_hour = _hour(rng, people, weights, start=start, events=events_per_hour, identified=set())
    seen = {message["userId"] for message in first_hour}
    known = [index for index, lead in enumerate(people) if lead.user_id in seen]
    second_hour = _hour(
        rng,
        [people[index] for index in known],
        [weights[index] for index in known],
        start=start + HOUR,
        events=events_per_hour,
        identified=seen,
    )
    return Workload(start=start, new_leads=first_hour, known_leads=second_hour)


def _person(rng: random.Random, number: int) -> _Lead:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    company = rng.randrange(COMPANIES)
    company_rng = random.Random(company)  # the same company always has the same domain and size
    domain = f"company{company:03d}.com"
    if rng.random() < FREE_EMAIL_SHARE:
        domain = rng.choice(FREE_DOMAINS)
    traits = {
        "email": f"{first}.{last}{number}@{domain}",
        "title": _weighted(rng, TITLES),
        "employees": company_rng.choice(COMPANY_SIZES),
        "country": _weighted(rng, COUNTRIES),
    }
    return _Lead(user_id=f"user-{number:05d}", traits=traits)


def _hour(
    rng: random.Random,
    people: list[_Lead],
    weights: list[float],
    *,
    start: datetime,
    events: int,
    identified: set[str],
) -> list[dict[str, Any]]:
    identified = set(identified)
    reidentify = bool(identified)
    out: list[dict[str, Any]] = []
    while len(out) < events:
        lead = rng.choices(people, weights)[0]
        length = min(rng.randint(*BURST_EVENTS), events - len(out))
        moment = start + timedelta(seconds=rng.uniform(0, HOUR.total_seconds()))
        for position in range(length):
            if position:
                moment += timedelta(seconds=rng.uniform(*GAP_SECONDS))
            first_ever = lead.user_id not in identified
            if first_ever or (reidentify and position == 0 and rng.random() < REIDENTIFY_SHARE):
                identified.add(lead.user_id)
                out.append(_message(rng, lead, moment, type="identify", traits=dict(lead.traits)))
            elif rng.random() < PAGE_SHARE:
                path, title, _ = rng.choices(PAGES, [weight for *_, weight in PAGES])[0]
                properties = {"path": path, "title": title, "url": f"https://example.com{path}"}
                out.append(_message(rng, lead, moment, type="page", properties=properties))
            else:
                name, properties, _ = rng.choices(TRACKS, [weight for *_, weight in TRACKS])[0]
                out.append(_message(rng, lead, moment, type="track", event=name, properties=dict(properties)))
    out.sort(key=lambda message: message["timestamp"])
    return out


def _message(rng: random.Random, lead: _Lead, moment: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "userId": lead.user_id,
        "messageId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "timestamp": moment.isoformat(timespec="milliseconds"),
        **fields,
    }


def _weighted(rng: random.Random, choices: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([value for value, _ in choices], [weight for _, weight in choices])[0]


def arrival(message: dict[str, Any]) -> datetime:
    """When the message reached the endpoint: its timestamp (the trackers send as it happens)."""
    return datetime.fromisoformat(message["timestamp"])
