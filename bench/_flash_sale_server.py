"""The processes of bench/flash_sale.py: `pond serve`, and WeChat's two hosts as processes of their own.

Pond talks to both simulators over HTTP on 127.0.0.1, configured exactly as it would be for the real hosts
(POND_WECHAT_* and POND_WECHATPAY_* settings), so that WeChat's work (code2Session, checking the merchant's request
signature, signing the prepay answer) is not billed to Pond's process:

* WeChat Pay: `python -m payments.simulator --keys-dir …`, Pond given the merchant key, serial, APIv3 key and the
  platform public key from that directory.
* code2Session: `wechat.simulator.create_wechat_simulator` served by uvicorn (`wechat_login_simulator` below), Pond
  given its appid, secret and base URL. Pond's merchant appid must be the WeChat Pay simulator's appid (the simulator
  refuses any other), and setting POND_WECHAT_APPID turns Pond's embedded code2Session simulator off, so the login
  simulator has to be a process of its own too.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from bench._harness import HOST, REPO, Server, uvicorn_argv

DATABASE = "pond_bench_flash"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_PREFIX = "benchfs"
RAW_PREFIX = "benchfs-raw"  # the pool the bench drives directly, apart from the server's
REDIS_PATTERNS = ("benchfs*", "{benchfs*")  # plain keys (rate limits) and hash-tagged ones ({benchfs:flash:1}:left)
LOGIN_APPID = "wxpondsimulator01"  # the WeChat Pay simulator's keys are made for this appid
LOGIN_SECRET = "pond-bench-flash-secret"


def wechat_login_simulator() -> object:
    """uvicorn factory: the code2Session simulator for LOGIN_APPID / LOGIN_SECRET."""
    from wechat.simulator import create_wechat_simulator

    return create_wechat_simulator(LOGIN_APPID, LOGIN_SECRET)


def login_simulator() -> Server:
    argv = uvicorn_argv("bench._flash_sale_server:wechat_login_simulator", factory=True)
    return Server("wechat-login-simulator", argv, ready_path="/sns/jscode2session")


def pay_simulator(keys_dir: Path) -> Server:
    argv = [sys.executable, "-m", "payments.simulator", "--host", "{host}", "--port", "{port}",
            "--keys-dir", str(keys_dir)]
    return Server("wechatpay-simulator", argv, ready_path="/__sim/clock")


def make_keys(keys_dir: Path) -> None:
    """The simulator's key set, written before it starts so that Pond can be pointed at the same files."""
    from payments.keys import load_or_create_keys

    load_or_create_keys(keys_dir, appid=LOGIN_APPID)


def wechat_env(keys_dir: Path, login: Server, pay: Server) -> dict[str, str]:
    """Pond's settings for WeChat's hosts being the two simulators (the merchant key set in `keys_dir`)."""
    from payments.keys import load_keys

    keys = load_keys(keys_dir)
    return {
        "POND_WECHAT_APPID": keys.appid,
        "POND_WECHAT_SECRET": LOGIN_SECRET,
        "POND_WECHAT_API_BASE": f"http://{HOST}:{login.port}",
        "POND_WECHATPAY_MCHID": keys.mchid,
        "POND_WECHATPAY_CERT_SERIAL_NO": keys.merchant_cert_serial,
        "POND_WECHATPAY_PRIVATE_KEY_PATH": str(keys_dir / "apiclient_key.pem"),
        "POND_WECHATPAY_APIV3_KEY": keys.apiv3_key,
        "POND_WECHATPAY_PUBLIC_KEY_PATH": str(keys_dir / "wechatpay_public_key.pem"),
        "POND_WECHATPAY_PUBLIC_KEY_ID": keys.public_key_id,
        "POND_WECHATPAY_GATEWAY": f"http://{HOST}:{pay.port}",
    }


def pond_server(workdir: Path, keys_dir: Path, login: Server, pay: Server, pool_max: int | None) -> Server:
    """`pond serve` (one uvicorn worker) on PostgreSQL + Redis, WeChat's hosts being the two simulators."""
    env = {
        "POND_DATABASE_URL": DATABASE_URL,
        **({} if pool_max is None else {"POND_DB_POOL_SIZE": str(pool_max)}),
        "POND_REDIS_URL": REDIS_URL,
        "POND_REDIS_PREFIX": REDIS_PREFIX,
        "POND_SEED_DEMO": "false",
        "POND_LOG_LEVEL": "WARNING",
        "POND_LOGIN_RATE_LIMIT": "1000000",  # every bench customer logs in from 127.0.0.1
        "POND_FLASH_SALE_PAYMENT_MINUTES": "60",  # nothing expires during the run (no sweeps run anyway)
        # The bench's customers keep every order unpaid, 4 or 5 each by the sold-out phase: the cap of unpaid orders
        # (5 by default) would answer some sold-out attempts LIMIT_EXCEEDED, which comes before the pool.
        "POND_MAX_PENDING_ORDERS": "1000",
        "POND_SECRET_KEY": secrets.token_urlsafe(48),
        "POND_DATA_DIR": str(workdir / ".pond"),
        **wechat_env(keys_dir, login, pay),
    }
    code = f"import sys; sys.path.insert(0, {str(REPO)!r}); from app import main; main()"
    argv = [sys.executable, "-c", code, "serve", "--host", "{host}", "--port", "{port}"]
    return Server("pond", argv, env, ready_path="/readyz", cwd=workdir)
