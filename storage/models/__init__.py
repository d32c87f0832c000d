"""All tables; importing this package registers every model on Base.metadata."""

from storage.models.attendance import Attendance, AttendanceEvent, DayPlan, QuotaException
from storage.models.base import Base
from storage.models.core import ConversationState, ProcessedUpdate
from storage.models.delivery import OutboxMessage, Reminder
from storage.models.faq import CatalogueVersion, Handoff, UnansweredQuestion
from storage.models.org import AuditEntry, ChatBinding, Identity, Invite, Person, Role, Unit
from storage.models.reports import Report, ReportAttachment, ReportRevision
from storage.models.tasks import Task, TaskCard, TaskEvent
from storage.models.zalo import ZaloContact, ZaloToken

__all__ = [
    "Attendance",
    "AttendanceEvent",
    "AuditEntry",
    "Base",
    "CatalogueVersion",
    "ChatBinding",
    "ConversationState",
    "DayPlan",
    "Handoff",
    "Identity",
    "Invite",
    "OutboxMessage",
    "Person",
    "ProcessedUpdate",
    "QuotaException",
    "Reminder",
    "Report",
    "ReportAttachment",
    "ReportRevision",
    "Role",
    "Task",
    "TaskCard",
    "TaskEvent",
    "UnansweredQuestion",
    "Unit",
    "ZaloContact",
    "ZaloToken",
]
