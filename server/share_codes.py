"""`GET /share/{code}/qrcode.png`: the mini-program code a distributor prints or posts for a share."""

from __future__ import annotations

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.distribution.images import code_image
from domain.errors import DomainError
from wechat.client import WeChatApiError

log = structlog.get_logger("pond.share_codes")
PATH = "/share/{code}/qrcode.png"


async def _qrcode(request: Request) -> Response:
    client = request.app.state.runtime.wechat_client
    try:
        png = await code_image(request.path_params["code"], client.wxacode_unlimited)
    except DomainError:
        return Response("no such share", status_code=404, media_type="text/plain")
    except WeChatApiError as exc:
        log.warning("wxacode failed", errcode=exc.errcode)
        return Response("WeChat could not draw the code, try again later", status_code=502, media_type="text/plain")
    return Response(png, media_type="image/png", headers={"cache-control": "public, max-age=86400"})


def share_code_routes() -> list[Route]:
    return [Route(PATH, _qrcode, methods=["GET"])]
