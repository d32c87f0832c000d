"""The demo: a sample organisation in the database and its people in the mock chat server."""

from __future__ import annotations

from importlib import resources

import aiohttp
from sqlalchemy import select

from bot.app import Application
from bot.channels.zalo.runtime import ZaloRuntime
from bot.runner import RunningBot, start_zalo
from bot.services.org.importer import apply_org, parse_org
from storage.models import ChatBinding, Identity, Person

DEMO_ZALO_APP = "demo-zalo-app"
DEMO_ZALO_KEY = "demo-oa-secret"
DEMO_CITIZEN = {"id": 500001, "first_name": "Lê Văn Dân", "username": "dan_le"}


def demo_organisation() -> bytes:
    return (resources.files("bot.demo") / "organisation.yaml").read_bytes()


async def seed_demo(application: Application, mock_base_url: str) -> list[str]:
    """Load the demo organisation and make its people and chats exist in the mock server.

    Returns a line per person for the console.
    """
    spec = parse_org(demo_organisation(), "yaml")
    if isinstance(spec, list):
        raise RuntimeError("the shipped demo organisation is invalid: " + str(spec[0]))
    app = application.app
    async with app.db.transaction() as session:
        await apply_org(session, spec, now=app.clock.now(), actor_label="demo")
    async with app.db.transaction() as session:
        rows = (
            await session.execute(
                select(Identity, Person)
                .join(Person, Identity.person_id == Person.id)
                .where(Identity.channel == "telegram", Identity.user_id.is_not(None))
                .order_by(Person.unit_id, Person.id)
            )
        ).all()
        chats = list(await session.scalars(select(ChatBinding)))
    users = [
        {
            "id": int(identity.user_id),
            "first_name": person.full_name,
            "username": identity.username,
            "language_code": person.language or "vi",
        }
        for identity, person in rows
        if identity.user_id
    ]
    users.append({**DEMO_CITIZEN, "language_code": "vi"})
    members_by_unit: dict[int | None, list[int]] = {}
    for identity, person in rows:
        members_by_unit.setdefault(person.unit_id, []).append(int(identity.user_id or 0))
    all_staff = [u["id"] for u in users if u["id"] != DEMO_CITIZEN["id"]]
    async with aiohttp.ClientSession(mock_base_url) as http:
        for user in users:
            await _post(http, "/_mock/users", user)
        for chat in chats:
            members = (
                members_by_unit.get(chat.unit_id, []) if chat.unit_id is not None else all_staff
            )
            await _post(
                http,
                "/_mock/chats",
                {
                    "id": int(chat.chat_id),
                    "type": "supergroup",
                    "title": chat.title or chat.purpose,
                    "members": members,
                },
            )
    return [
        f"{person.full_name} ({person.role}, id {identity.user_id})" for identity, person in rows
    ] + [f"{DEMO_CITIZEN['first_name']} (citizen, id {DEMO_CITIZEN['id']})"]


async def _post(http: aiohttp.ClientSession, path: str, body: dict[str, object]) -> None:
    async with http.post(path, json=body) as response:
        response.raise_for_status()


async def start_demo_zalo(running: RunningBot, mock_base_url: str) -> None:
    """The Zalo citizen channel against the mock server's Zalo side, signed with demo keys."""
    zalo = ZaloRuntime(
        running.application.core,
        app_id=DEMO_ZALO_APP,
        app_secret="demo-app-secret",
        oa_secret_key=DEMO_ZALO_KEY,
        api_url=mock_base_url,
        oauth_url=mock_base_url,
        access_token="demo-access",
        refresh_token="demo-refresh",
    )
    await start_zalo(running, zalo)
    async with aiohttp.ClientSession(mock_base_url) as http:
        await _post(
            http,
            "/_mock/zalo/webhook",
            {
                "url": f"http://127.0.0.1:{running.zalo_port}/zalo/webhook",
                "app_id": DEMO_ZALO_APP,
                "secret_key": DEMO_ZALO_KEY,
            },
        )
