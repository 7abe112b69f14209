"""Domain errors; adapters translate AWS error codes into these and the API maps them to status codes."""


class LeadScoreError(Exception):
    """Base of every error the service raises on purpose."""


class Unauthorized(LeadScoreError):
    """No API key, or one that does not grant the requested access."""


class NotFound(LeadScoreError):
    """The lead or account has never been seen."""


class ConcurrentUpdate(LeadScoreError):
    """Another writer changed the lead between our read and our conditional write."""


class PayloadTooLarge(LeadScoreError):
    """The request body is larger than the tracking API allows."""


class Unavailable(LeadScoreError):
    """A service the request depends on (the queue) failed; the caller should retry."""
