"""Every Zalo OA API fact this project relies on: paths, headers, field names, the webhook
signature, limits and error codes. The bot and the mock server both read them from here.

SOURCES. Zalo's own documentation (developers.zalo.me) could not be read when this was
written. The facts below come from public integrations, collected in
/work/shared/research/citizen-faq-and-zalo.md §1:
- webhook body and signature: chatwoot/chatwoot, app/jobs/webhooks/zalo_events_job.rb and
  app/services/zalo/incoming_message_service.rb (a production integration);
- sending: chatwoot app/models/channel/zalo_oa.rb and Zalo's own Java SDK test
  zaloplatform/zalo-java-sdk src/test/java/v3/SendTextCSMessage.java;
- button payload shapes (`oa.open.url` {url}, `oa.open.phone` {phone_code}, `oa.query.show`
  a plain string that comes back as the user's text): public OA clients found by code search;
- token refresh, retries, error codes: hoangnd25/monorepo wip/zalo-platform-integration.md,
  khoicodedao/Poto_platform docs/FIX_ERROR_230.md;
- the user profile endpoint (/v3.0/oa/user/detail?data={"user_id": ...}): several public
  clients (PHP, Go, JavaScript) that call it the same way;
- quotas (48 h, 8 free replies): Zalo's help centre, zalooa.freshdesk.com article 64000261136.

Marked [unverified]: seen in one place only or guessed; check against a real OA first.
To correct a fact, change it here; the tests and the mock follow.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

# -- endpoints ----------------------------------------------------------------------------
SEND_CS_PATH = "/v3.0/oa/message/cs"  # consultation ("customer service") messages
USER_DETAIL_PATH = "/v3.0/oa/user/detail"  # GET ?data={"user_id": "..."}
TOKEN_PATH = "/v4/oa/access_token"  # on the OAuth host (oauth.zaloapp.com)

ACCESS_TOKEN_HEADER = "access_token"  # the OA access token travels in a header of this name
OAUTH_SECRET_HEADER = "secret_key"  # the *app* secret, for the OAuth host

# -- webhook signature --------------------------------------------------------------------
SIGNATURE_HEADER = "X-ZEvent-Signature"
SIGNATURE_PREFIX = "mac="
# Which body field is hashed in front of the raw body. chatwoot uses app_id; one secondary doc
# (hoangnd25) says oa_id [unverified]. Change it here if a real event disagrees.
SIGNATURE_ID_FIELD = "app_id"
# Zalo retries an event that was not answered 200 (hoangnd25 [unverified]): after 30 s, 5 min,
# 15 min, 30 min and 1 h, with this header counting the attempts.
RETRY_HEADER = "num_retry"


def signature(app_or_oa_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """sha256 hex of id + raw body + timestamp + OA secret key. Plain SHA-256, not an HMAC.

    The body must be the bytes exactly as received: re-serialised JSON hashes differently.
    """
    digest = hashlib.sha256()
    digest.update(app_or_oa_id.encode())
    digest.update(raw_body)
    digest.update(timestamp.encode())
    digest.update(oa_secret_key.encode())
    return digest.hexdigest()


def signature_header(app_or_oa_id: str, raw_body: bytes, timestamp: str, secret: str) -> str:
    return SIGNATURE_PREFIX + signature(app_or_oa_id, raw_body, timestamp, secret)


# -- webhook events -----------------------------------------------------------------------
# {"app_id", "oa_id"?, "event_name", "timestamp": "<ms>", "sender": {"id"}, "recipient": {"id"},
#  "message": {"msg_id", "text", "attachments"?: [{"type", "payload": {"url", ...}}]}}
# follow/unfollow carry {"follower": {"id"}} instead of sender/message.
F_APP_ID = "app_id"
F_OA_ID = "oa_id"
F_EVENT = "event_name"
F_TIMESTAMP = "timestamp"  # milliseconds since the epoch, as a string (or a number)
F_SENDER = "sender"
F_RECIPIENT = "recipient"
F_FOLLOWER = "follower"
F_ID = "id"
F_MESSAGE = "message"
F_MSG_ID = "msg_id"
F_TEXT = "text"
F_ATTACHMENTS = "attachments"

EVENT_TEXT = "user_send_text"
EVENT_FOLLOW = "follow"
EVENT_UNFOLLOW = "unfollow"
# Everything a user can send that is not text: answered with "please type your question".
EVENTS_NON_TEXT = frozenset(
    {
        "user_send_image",
        "user_send_gif",
        "user_send_sticker",
        "user_send_file",
        "user_send_audio",
        "user_send_video",
        "user_send_location",
        "user_send_link",
        "user_send_business_card",
    }
)
# Reports about the OA's own messages (the sender is the OA): never answered.
EVENTS_ABOUT_OA = frozenset({"user_received_message", "user_seen_message"})

# -- sending ------------------------------------------------------------------------------
# Body: {"recipient": {"user_id"}, "message": {"text", "attachment"?}}
# Answer: {"error": 0, "message": "Success", "data": {"message_id", "user_id"}}
F_RECIPIENT_USER = "user_id"
F_ERROR = "error"
F_ERROR_MESSAGE = "message"
F_DATA = "data"
F_MESSAGE_ID = "message_id"
F_DISPLAY_NAME = "display_name"  # in the user detail answer's data

TEXT_LIMIT = 2000  # characters per text message
MAX_BUTTONS = 5  # per message [unverified: the limit public clients use]
BUTTON_TITLE_LIMIT = 100  # [unverified]

BUTTON_QUERY = "oa.query.show"  # pressing it sends the payload back as the user's text
BUTTON_URL = "oa.open.url"
BUTTON_PHONE = "oa.open.phone"
BUTTON_TYPES = frozenset({BUTTON_QUERY, BUTTON_URL, BUTTON_PHONE})
# Research §1 says button messages are templates of type "button"; some clients omit the
# field. Set to None to leave it out [unverified].
BUTTON_TEMPLATE_TYPE: str | None = "button"


def text_body(user_id: str, text: str) -> dict[str, Any]:
    return {F_RECIPIENT: {F_RECIPIENT_USER: user_id}, F_MESSAGE: {F_TEXT: text}}


def query_button(title: str, payload: str) -> dict[str, Any]:
    return {"title": title, "type": BUTTON_QUERY, "payload": payload}


def url_button(title: str, url: str) -> dict[str, Any]:
    return {"title": title, "type": BUTTON_URL, "payload": {"url": url}}


def phone_button(title: str, phone: str) -> dict[str, Any]:
    return {"title": title, "type": BUTTON_PHONE, "payload": {"phone_code": phone}}


def button_body(user_id: str, text: str, buttons: list[dict[str, Any]]) -> dict[str, Any]:
    payload: dict[str, Any] = {"buttons": buttons}
    if BUTTON_TEMPLATE_TYPE is not None:
        payload["template_type"] = BUTTON_TEMPLATE_TYPE
    body = text_body(user_id, text)
    body[F_MESSAGE]["attachment"] = {"type": "template", "payload": payload}
    return body


def buttons_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The buttons a send body carries (the mock and the tests read them back)."""
    attachment = (body.get(F_MESSAGE) or {}).get("attachment") or {}
    payload = attachment.get("payload") if isinstance(attachment, dict) else None
    buttons = payload.get("buttons") if isinstance(payload, dict) else None
    return list(buttons) if isinstance(buttons, list) else []


# -- tokens -------------------------------------------------------------------------------
# POST form: refresh_token, app_id, grant_type=refresh_token; header secret_key (app secret).
# Answer: {"access_token", "refresh_token", "expires_in": "90000"} (seconds, often a string).
# The access token lives about 25 h; the refresh token about 3 months and works ONCE.
F_ACCESS_TOKEN = "access_token"
F_REFRESH_TOKEN = "refresh_token"
F_EXPIRES_IN = "expires_in"
GRANT_REFRESH = "refresh_token"

# -- errors (the "error" field of a 200 answer) --------------------------------------------
OK = 0
ACCESS_TOKEN_INVALID = -216
ACCESS_TOKEN_EXPIRED = -220
USER_NOT_FOLLOWER = -213
NO_INTERACTION_7_DAYS = -230
NEVER_INTERACTED = -232
RATE_LIMITED = -32
OUT_OF_QUOTA = -211
TIER_REQUIRED = -224
API_RETIRED = -240
PARAMS_INVALID = -210  # [unverified: the code public clients see for an over-long text]

TOKEN_ERRORS = frozenset({ACCESS_TOKEN_INVALID, ACCESS_TOKEN_EXPIRED})  # refresh, retry once
USER_GONE_ERRORS = frozenset({USER_NOT_FOLLOWER, NO_INTERACTION_7_DAYS, NEVER_INTERACTED})
# Zalo names no wait for -32; back off this long before the same user is tried again.
RATE_LIMIT_BACKOFF_SECONDS = 2.0

# -- quotas -------------------------------------------------------------------------------
REPLY_WINDOW = timedelta(hours=48)  # free replies only within 48 h of the user's last message
FREE_REPLIES_PER_WINDOW = 8  # the 9th counts as a proactive message
