"""Settings from CONGVU_* environment variables and an optional .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONGVU_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    telegram_token: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    telegram_runtime: Literal["aiogram", "ptb"] = "aiogram"
    timezone: str = "Asia/Ho_Chi_Minh"
    default_language: Literal["vi", "en"] = "vi"
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    redis_url: str = ""
    scheduler_enabled: bool = True
    scheduler_interval: float = Field(default=30.0, gt=0)
    # /healthz and /metrics; port 0 picks a free one, -1 turns the server off.
    ops_host: str = "127.0.0.1"
    ops_port: int = Field(default=8090, ge=-1, le=65535)
    zalo_app_id: str = ""
    # The app secret refreshes tokens; the OA secret key signs webhook events (defaults to it).
    zalo_secret_key: str = ""
    zalo_oa_secret_key: str = ""
    zalo_access_token: str = ""
    zalo_refresh_token: str = ""
    zalo_webhook_host: str = "127.0.0.1"
    zalo_webhook_port: int = Field(default=8082, ge=0, le=65535)
    zalo_webhook_path: str = "/zalo/webhook"
    zalo_max_event_age: float = Field(default=300.0, gt=0)
    zalo_api_url: str = "https://openapi.zalo.me"
    zalo_oauth_url: str = "https://oauth.zaloapp.com"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("telegram_token")
    @classmethod
    def _token_shape(cls, value: str) -> str:
        # Telegram tokens are "<bot id>:<secret>"; aiogram refuses anything else.
        if value:
            head, _, tail = value.partition(":")
            if not head.isdigit() or not tail:
                raise ValueError("expected the form 123456:ABC... from @BotFather")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: str) -> str:
        allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
        if value and (len(value) > 256 or not set(value) <= allowed):
            raise ValueError("1-256 characters of A-Z, a-z, 0-9, _ and - only")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'congvu.sqlite3').as_posix()}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning validation errors into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "CONGVU_" + "_".join(str(p) for p in first["loc"]).upper()
        raise ConfigError(f"{name}: {first['msg']}") from None
