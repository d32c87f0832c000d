"""All tables; importing this package registers every model on Base.metadata."""

from storage.models.base import Base
from storage.models.core import ConversationState, ProcessedUpdate
from storage.models.org import AuditEntry, ChatBinding, Identity, Invite, Person, Role, Unit

__all__ = [
    "AuditEntry",
    "Base",
    "ChatBinding",
    "ConversationState",
    "Identity",
    "Invite",
    "Person",
    "ProcessedUpdate",
    "Role",
    "Unit",
]
