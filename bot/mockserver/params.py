"""Reading Bot API parameters the way Telegram accepts them.

aiogram and PTB send form-urlencoded bodies (multipart when files are attached); nested objects
arrive as JSON strings and numbers and booleans as strings. The Bot API also accepts JSON
bodies and query strings, so all four are merged into one `Params`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.mockserver.errors import bad_request

ATTACH_PREFIX = "attach://"


@dataclass(frozen=True, slots=True)
class UploadedFile:
    filename: str
    content_type: str | None
    data: bytes


class Params:
    """Typed access to loosely typed request values; errors use Telegram's wording."""

    def __init__(
        self,
        values: dict[str, Any] | None = None,
        files: dict[str, UploadedFile] | None = None,
    ) -> None:
        self.values: dict[str, Any] = dict(values or {})
        self.files: dict[str, UploadedFile] = dict(files or {})

    def __contains__(self, name: str) -> bool:
        return self.values.get(name) is not None or name in self.files

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise bad_request(f'field "{name}" must be a valid Number')
        try:
            return int(value)
        except (TypeError, ValueError):
            try:
                as_float = float(value)
            except (TypeError, ValueError):
                raise bad_request(f'field "{name}" must be a valid Number') from None
            if not as_float.is_integer():
                raise bad_request(f'field "{name}" must be a valid Number') from None
            return int(as_float)

    def get_float(self, name: str, default: float | None = None) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be a valid Number') from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value != 0
        lowered = str(value).strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise bad_request(f'field "{name}" must be of type Boolean')

    def get_json(self, name: str, what: str | None = None) -> Any:
        """A nested object: passed through from a JSON body, decoded from a form string."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {what or name} JSON object") from None
        return value

    def chat_id(self, name: str = "chat_id") -> int | str | None:
        """Chat ids are integers, or '@username' for public groups and channels."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if text.startswith("@"):
            return text
        try:
            return int(text)
        except ValueError:
            raise bad_request("chat not found") from None

    def file(self, name: str) -> UploadedFile | str | None:
        """An InputFile: an upload (direct or via attach://NAME), or a file_id/URL string."""
        if name in self.files:
            return self.files[name]
        value = self.values.get(name)
        if value is None or value == "":
            return None
        text = str(value)
        if text.startswith(ATTACH_PREFIX):
            attached = self.files.get(text[len(ATTACH_PREFIX) :])
            if attached is None:
                raise bad_request(f"file of field {name} not found")
            return attached
        return text


async def read_params(request: web.Request) -> Params:
    values: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if not request.body_exists:
        return Params(values, files)
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON request body") from None
        if isinstance(body, dict):
            values.update(body)
        return Params(values, files)
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form: MultiDictProxy[Any] = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = UploadedFile(value.filename, value.content_type, value.file.read())
            elif isinstance(value, bytes | bytearray):
                # A multipart part without a filename but with a binary content type.
                files[key] = UploadedFile(key, None, bytes(value))
            else:
                values[key] = value
    return Params(values, files)
