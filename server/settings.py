"""Operator settings: every knob is a POND_* environment variable (see ../shared/docs/api.md)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_URL = "sqlite://pond.sqlite3"
WECHATPAY_VARIABLES = (
    "wechatpay_mchid",
    "wechatpay_cert_serial_no",
    "wechatpay_private_key_path",
    "wechatpay_apiv3_key",
    "wechatpay_public_key_path",
    "wechatpay_public_key_id",
)


class SettingsError(Exception):
    """A bad setting: the message is one line naming the variable and the reason."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POND_", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = DEFAULT_SQLITE_URL
    redis_url: str | None = None
    redis_prefix: str = Field(default="pond", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    secret_key: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str | None = None

    wechat_appid: str | None = None
    wechat_secret: str | None = None
    wechat_api_base: str = "https://api.weixin.qq.com"

    wechatpay_mchid: str | None = None
    wechatpay_cert_serial_no: str | None = None
    wechatpay_private_key_path: Path | None = None
    wechatpay_apiv3_key: str | None = None
    wechatpay_public_key_path: Path | None = None
    wechatpay_public_key_id: str | None = None
    wechatpay_gateway: str = "https://api.mch.weixin.qq.com"

    order_payment_minutes: int = Field(default=15, ge=1, le=24 * 60)
    flash_sale_payment_minutes: int = Field(default=5, ge=1, le=24 * 60,
                                            description="minutes before an unpaid flash sale order expires")
    auto_confirm_days: int = Field(default=7, ge=1, le=60, description="shipped orders complete themselves after")
    sweep_seconds: int = Field(default=30, ge=1, description="how often the embedded server runs the order sweeps")
    shop_name: str = Field(default="Pond", min_length=1, max_length=32, description="prefix of WeChat bill items")
    customer_token_hours: int = Field(default=24 * 30, ge=1)
    staff_token_hours: int = Field(default=12, ge=1)
    login_rate_limit: int = Field(default=20, ge=1, description="login attempts per client per minute")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="larger request bodies are answered 413")
    max_pending_orders: int = Field(default=5, ge=1, description="unpaid orders one customer may hold at once")
    checkout_rate_limit: int = Field(default=10, ge=1, description="checkouts per customer per minute")
    catalog_cache_seconds: float = Field(default=2.0, ge=0, description="how far stock counts may lag in cached reads")
    seed_demo: bool = True
    data_dir: Path = Path(".pond")
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in {"sqlite", "postgres", "asyncpg", "psycopg"}:
            raise ValueError(f"unsupported scheme {scheme!r}: use postgres://… or sqlite://…")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value or None

    @field_validator("public_url", "wechat_api_base", "wechatpay_gateway")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in {"http", "https"}:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _production_needs_real_credentials(self) -> Settings:
        if self.wechat_appid and not self.wechat_secret:
            raise ValueError("POND_WECHAT_SECRET: required when POND_WECHAT_APPID is set")
        given = [name for name in WECHATPAY_VARIABLES if getattr(self, name)]
        if given and len(given) != len(WECHATPAY_VARIABLES):
            missing = [f"POND_{n.upper()}" for n in WECHATPAY_VARIABLES if not getattr(self, n)]
            raise ValueError(f"{missing[0]}: required with the other WeChat Pay merchant settings")
        if given and not self.wechat_appid:
            raise ValueError("POND_WECHAT_APPID: required with WeChat Pay merchant settings (prepays name the app)")
        if self.env != "production":
            return self
        if not self.secret_key or len(self.secret_key) < 32:
            raise ValueError("POND_SECRET_KEY: required in production, at least 32 characters")
        if not self.wechat_appid:
            raise ValueError("POND_WECHAT_APPID: required in production (the simulator is for development)")
        if not given:
            raise ValueError("POND_WECHATPAY_MCHID: required in production (the simulator is for development)")
        return self

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def simulated_wechat(self) -> bool:
        return self.wechat_appid is None

    @property
    def simulated_wechatpay(self) -> bool:
        return self.wechatpay_mchid is None

    @property
    def wechatpay_simulator_dir(self) -> Path:
        """Where the embedded WeChat Pay simulator keeps its keys; `pond pay` signs with the same ones."""
        return self.data_dir / "wechatpay-simulator"

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def signing_key(self) -> str:
        """The token key; the embedded default keeps a generated one in data_dir so restarts and workers agree."""
        if self.secret_key is None:
            path = self.data_dir / "secret_key"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(secrets.token_urlsafe(48))
                path.chmod(0o600)
            self.secret_key = path.read_text().strip()
        return self.secret_key


def load_settings(**overrides: object) -> Settings:
    """Read POND_* variables; a bad one raises SettingsError with one line saying which and why."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        location = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if location and not message.startswith("POND_"):
            message = f"POND_{location.upper()}: {message} (got {error.get('input')!r})"
        raise SettingsError(message) from None
