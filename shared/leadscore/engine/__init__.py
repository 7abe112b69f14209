"""The scoring engine: pure Python, no AWS. Evaluate events into a lead's state; read scores at any time."""

from leadscore.engine.accounts import score_account
from leadscore.engine.evaluate import Evaluation, evaluate
from leadscore.engine.follow_up import reminder_due_at, settle_reminder, turned_hot_at
from leadscore.engine.model import (
    AccountMember,
    AccountScore,
    ExplanationItem,
    LeadScore,
    Signal,
    SignalKind,
)
from leadscore.engine.reading import next_band_change_at, score_lead
from leadscore.engine.state import LeadState, decode_state, encode_state

__all__ = [
    "AccountMember",
    "AccountScore",
    "Evaluation",
    "ExplanationItem",
    "LeadScore",
    "LeadState",
    "Signal",
    "SignalKind",
    "decode_state",
    "encode_state",
    "evaluate",
    "next_band_change_at",
    "reminder_due_at",
    "score_account",
    "score_lead",
    "settle_reminder",
    "turned_hot_at",
]
