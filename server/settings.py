"""Operator settings: every knob is a POND_* environment variable (see ../shared/docs/api.md)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.db import DEFAULT_POOL_SIZE
from server.addresses import Network, is_loopback, parse_networks

DEFAULT_SQLITE_URL = "sqlite://pond.sqlite3"
WECHATPAY_VARIABLES = (
    "wechatpay_mchid",
    "wechatpay_cert_serial_no",
    "wechatpay_private_key_path",
    "wechatpay_apiv3_key",
    "wechatpay_public_key_path",
    "wechatpay_public_key_id",
)


REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
CLUSTER_SCHEMES = frozenset({"redis+cluster", "rediss+cluster"})


def is_cluster_url(url: str) -> bool:
    """`redis+cluster://host:port` (or `rediss+cluster://`) names any node of a Redis Cluster."""
    return urlsplit(url).scheme in CLUSTER_SCHEMES


class SettingsError(Exception):
    """A bad setting: the message is one line naming the variable and the reason."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POND_", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = DEFAULT_SQLITE_URL
    db_pool_size: int = Field(default=DEFAULT_POOL_SIZE, ge=1, le=1000,
                              description="PostgreSQL connections per process, at most (SQLite has one)")
    redis_url: str | None = None
    queue_redis_url: str | None = None
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
    wechatpay_timeout_seconds: float = Field(
        default=30.0, gt=0, le=120, description="how long a WeChat Pay API call may wait for its answer"
    )
    simulated_refund_seconds: float = Field(
        default=2.0, ge=0, le=3600, description="the embedded WeChat Pay simulator pays a refund this long after it"
    )

    order_payment_minutes: int = Field(default=15, ge=1, le=24 * 60)
    flash_sale_payment_minutes: int = Field(default=5, ge=1, le=24 * 60,
                                            description="minutes before an unpaid flash sale order expires")
    group_buy_payment_minutes: int = Field(default=5, ge=1, le=24 * 60,
                                           description="minutes before an unpaid group-buy order expires (its "
                                           "seat comes back)")
    auto_confirm_days: int = Field(default=7, ge=1, le=60, description="shipped orders complete themselves after")
    sweep_seconds: int = Field(default=30, ge=1, description="how often the embedded server runs the order sweeps")
    shop_name: str = Field(default="Pond", min_length=1, max_length=32, description="prefix of WeChat bill items")
    customer_token_hours: int = Field(default=24 * 30, ge=1)
    staff_token_hours: int = Field(default=12, ge=1)
    login_rate_limit: int = Field(default=20, ge=1, description="customer login attempts, and failed staff logins, "
                                  "per client per minute")
    staff_login_failures: int = Field(default=10, ge=1, description="failed staff logins per username per 15 minutes")
    access_cache_seconds: float = Field(default=5.0, ge=0, le=60,
                                        description="how long a token's account check is reused before reading again")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="larger request bodies are answered 413")
    max_pending_orders: int = Field(default=5, ge=1, description="unpaid orders one customer may hold at once")
    checkout_rate_limit: int = Field(default=10, ge=1, description="checkouts per customer per minute")
    catalog_cache_seconds: float = Field(default=2.0, ge=0, description="how far stock counts may lag in cached reads")
    trusted_proxies: str = Field(default="", description="addresses or CIDR networks whose X-Forwarded-For is "
                                 "believed (comma-separated); none by default")
    metrics_token: str | None = Field(default=None, min_length=16, description="bearer token /metrics asks for")
    metrics_allow: str = Field(default="", description="addresses or CIDR networks /metrics answers")
    allow_remote_dev: bool = Field(default=False, description="let a development server bind a non-loopback address")
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
        if value and urlsplit(value).scheme not in REDIS_SCHEMES | CLUSTER_SCHEMES:
            raise ValueError("must start with redis://, rediss://, unix://, or redis+cluster:// for a Redis Cluster")
        return value or None

    @field_validator("queue_redis_url")
    @classmethod
    def _queue_redis_scheme(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme not in REDIS_SCHEMES:
            raise ValueError("must start with redis://, rediss:// or unix:// (the sweep queue needs one Redis, "
                             "not a cluster)")
        return value or None

    @property
    def sweep_queue_url(self) -> str | None:
        """Where `pond worker` keeps its queue: POND_QUEUE_REDIS_URL, else POND_REDIS_URL unless that is a cluster."""
        if self.queue_redis_url or not self.redis_url:
            return self.queue_redis_url
        return None if is_cluster_url(self.redis_url) else self.redis_url

    @field_validator("public_url", "wechat_api_base", "wechatpay_gateway")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in {"http", "https"}:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("trusted_proxies", "metrics_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        if value.strip() == "*":
            raise ValueError("'*' would believe anyone's X-Forwarded-For: name the addresses or networks")
        parse_networks(value)
        return value

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
        if not self.public_url or urlsplit(self.public_url).scheme != "https":
            raise ValueError("POND_PUBLIC_URL: required in production, an https:// URL (WeChat Pay notify URLs are "
                             "built from it)")
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
    def trusted_proxy_networks(self) -> list[Network]:
        return parse_networks(self.trusted_proxies)

    @property
    def metrics_networks(self) -> list[Network]:
        return parse_networks(self.metrics_allow)

    def bind_refusal(self) -> str | None:
        """Why `pond serve` must not listen on its host, or None: a development server mounts the simulators (anyone
        reaching it can pay any order), so it listens on loopback only unless told otherwise."""
        if self.production or self.allow_remote_dev or is_loopback(self.host):
            return None
        return (f"POND_HOST: a development server listens on loopback only (got {self.host!r}): it mounts the "
                "simulators; pass --allow-remote or set POND_ALLOW_REMOTE_DEV=1 to expose it anyway")

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


def load_settings(**overrides: Any) -> Settings:
    """Read POND_* variables; a bad one raises SettingsError with one line saying which and why."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        location = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if location and not message.startswith("POND_"):
            message = f"POND_{location.upper()}: {message} (got {error.get('input')!r})"
        raise SettingsError(message) from None
