"""Status values as enums. Each value is the string the database has always stored, so a member
compares equal to the column's value (`ticket.status == TicketStatus.DONE`) and no migration is
needed; write `.value` when assigning, so every driver sees a plain str."""

from __future__ import annotations

from enum import Enum


class TicketStatus(str, Enum):
    NEW = "new"  # raised, nobody has it yet (or reopened)
    DISPATCHED = "dispatched"  # offered to someone (dispatch)
    ACCEPTED = "accepted"  # 接单
    ON_SITE = "on_site"  # 到场
    DONE = "done"  # 完工 (a complaint: 办结)
    CLOSED = "closed"  # the owner accepted the work (rated it)
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.DISPATCHED, TicketStatus.ACCEPTED, TicketStatus.ON_SITE)
FINISHED_STATUSES = (TicketStatus.DONE, TicketStatus.CLOSED)


class AssignmentStatus(str, Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    TIMED_OUT = "timed_out"
    TRANSFERRED = "transferred"
    CLOSED = "closed"

    def __str__(self) -> str:
        return self.value


class OutageStatus(str, Enum):
    SCHEDULED = "scheduled"
    RESTORED = "restored"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


class RenovationStatus(str, Enum):
    """A decoration application (装修申请), from the owner's request to the acceptance."""

    SUBMITTED = "submitted"  # 待审批
    RETURNED = "returned"  # 退回 (with a reason); the owner may apply again
    APPROVED = "approved"  # 已批准: work may start, passes may be issued
    ACCEPTED = "accepted"  # 已验收: closed, the deposit settled
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


ACTIVE_RENOVATION_STATUSES = (RenovationStatus.SUBMITTED, RenovationStatus.APPROVED)
