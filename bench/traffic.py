"""Synthetic but realistic tracking traffic: identifies, page views and intent events over two weeks."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

PAGES = [
    "/",
    "/pricing",
    "/product",
    "/blog/lead-scoring",
    "/careers",
    "/docs/getting-started",
    "/pricing/teams",
]
TRACKS = [
    "Demo Requested",
    "Webinar Registered",
    "Webinar Attended",
    "Email Opened",
    "Email Link Clicked",
    "Whitepaper Downloaded",
    "Trial Started",
    "Email Unsubscribed",
]
TITLES = [
    "VP Engineering",
    "Director of Marketing",
    "Head of Operations",
    "Software Engineer",
    "CEO",
    "Student",
    "Marketing Manager",
    "Chief Technology Officer",
]
DOMAINS = [
    "acme-robotics.com",
    "globex.io",
    "initech.com",
    "gmail.com",
    "umbrella.co",
    "yahoo.com",
    "hooli.com",
]


def messages(
    leads: int, events_per_lead: int, seed: int = 7, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Segment-shaped messages, ``events_per_lead`` per lead (the first an identify), in arrival order."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    out: list[dict[str, Any]] = []
    for number in range(leads):
        domain = rng.choice(DOMAINS)
        user = f"lead{number}@{domain}"
        start = now - timedelta(days=rng.uniform(0, 14))
        out.append(
            {
                "type": "identify",
                "userId": user,
                "messageId": f"{user}-0",
                "timestamp": start.isoformat(),
                "traits": {
                    "email": user,
                    "title": rng.choice(TITLES),
                    "employees": rng.choice([5, 40, 300, 2000]),
                },
            }
        )
        for index in range(1, events_per_lead):
            moment = (start + timedelta(hours=rng.uniform(0, 72))).isoformat()
            base = {"userId": user, "messageId": f"{user}-{index}", "timestamp": moment}
            if rng.random() < 0.6:
                out.append({**base, "type": "page", "properties": {"path": rng.choice(PAGES)}})
            else:
                out.append({**base, "type": "track", "event": rng.choice(TRACKS)})
    rng.shuffle(out)
    return out
