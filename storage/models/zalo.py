"""What the Zalo Official Account channel must remember across restarts and instances."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime


class ZaloToken(Base):
    """The OA's current token pair, one row per Zalo app.

    Zalo's refresh token can be used only once: every refresh returns a new pair, and losing
    the new refresh token means an operator has to authorise the OA again. So the pair is
    written here before it is used. `seed` is a hash of the refresh token the operator
    configured, so a freshly configured one is recognised and replaces the stored pair.
    `version` grows on every rotation; an instance that saw an older version adopts the
    stored pair instead of spending the (already used) refresh token it still holds.
    """

    __tablename__ = "zalo_tokens"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text, default="")
    refresh_token: Mapped[str] = mapped_column(Text, default="")
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seed: Mapped[str] = mapped_column(String(64), default="")
    version: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ZaloContact(Base):
    """A citizen on Zalo: when they last wrote, for the 48-hour reply window, and their name.

    Zalo lets an OA answer freely only within 48 hours of the user's last message; after that
    a message is "proactive" (billed, limited). A restart must not forget who may be answered.
    """

    __tablename__ = "zalo_contacts"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_msg_id: Mapped[str | None] = mapped_column(String(64))
