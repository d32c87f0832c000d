"""Gettext catalogs (one .po per feature under locales/<lang>/LC_MESSAGES) read with Babel.

Message ids are symbolic keys ("start.greeting") so a missing translation is visible
in both languages; placeholders use str.format names.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

log = logging.getLogger(__name__)


def _read_catalogs(root: Path, lang: str) -> dict[str, str]:
    messages: dict[str, str] = {}
    folder = root / lang / "LC_MESSAGES"
    for po in sorted(folder.glob("*.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        for message in catalog:
            if message.id and isinstance(message.id, str) and message.string:
                messages[message.id] = str(message.string)
    return messages


def default_locales_dir() -> Path:
    return Path(str(resources.files("locales")))


class Translator:
    """All messages of all languages, loaded once per application."""

    def __init__(self, catalogs: Mapping[str, Mapping[str, str]], default: str = DEFAULT_LANGUAGE):
        self._catalogs = {lang: dict(msgs) for lang, msgs in catalogs.items()}
        self.default = default

    @classmethod
    def load(cls, root: Path | None = None, default: str = DEFAULT_LANGUAGE) -> Translator:
        base = root or default_locales_dir()
        return cls({lang: _read_catalogs(base, lang) for lang in LANGUAGES}, default)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._catalogs)

    def keys(self, lang: str) -> set[str]:
        return set(self._catalogs.get(lang, {}))

    def has(self, key: str, lang: str | None = None) -> bool:
        return key in self._catalogs.get(lang or self.default, {})

    def gettext(self, lang: str, key: str, **params: Any) -> str:
        catalog = self._catalogs.get(lang) or self._catalogs[self.default]
        template = catalog.get(key) or self._catalogs[self.default].get(key)
        if template is None:
            log.error("missing message %s for %s", key, lang)
            return key
        if not params:
            return template
        try:
            return template.format(**params)
        except (KeyError, IndexError, ValueError):
            log.exception("bad placeholders in %s/%s", lang, key)
            return template

    def pick_language(self, *candidates: str | None) -> str:
        """First supported language among the saved choice, the client's code, ...; else default."""
        for code in candidates:
            if code:
                short = code.split("-")[0].split("_")[0].lower()
                if short in self._catalogs:
                    return short
        return self.default
