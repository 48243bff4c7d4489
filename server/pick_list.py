"""``GET /staff/relays/{id}/pick-list.csv``: a relay's pick list for staff to print, as Excel opens it.

The caller is whoever the bearer token names, checked exactly as /graphql checks it (`principal_of`): 401 without
a usable token, 403 for a customer or a staff role that does not fulfil orders, 404 for no such relay.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from domain.errors import DomainError
from domain.relay import pick_list, relays
from resolvers.outcome import decode_id
from resolvers.permissions import CanFulfilOrders
from server.graphql_app import principal_of

_NO_STORE = {"Cache-Control": "no-store"}


async def download_pick_list(request: Request) -> Response:
    principal = await principal_of(request, request.app.state.services)
    if principal is None:
        return PlainTextResponse("Authentication required", 401,
                                 headers={**_NO_STORE, "WWW-Authenticate": "Bearer"})
    if principal.kind != "staff" or principal.role not in CanFulfilOrders.roles:
        return PlainTextResponse("Not allowed for this account", 403, headers=_NO_STORE)
    try:
        relay = await relays.get_relay(decode_id(request.path_params["relay_id"], "Relay"))
    except DomainError:
        return PlainTextResponse("No such relay", 404, headers=_NO_STORE)
    body = pick_list.pick_list_csv(await pick_list.pick_list(relay))
    headers = {**_NO_STORE, "Content-Disposition": f'attachment; filename="relay-{relay.id}-pick-list.csv"'}
    return Response(body.encode("utf-8"), 200, headers=headers, media_type="text/csv; charset=utf-8")


def pick_list_routes() -> list[Route]:
    return [Route("/staff/relays/{relay_id}/pick-list.csv", download_pick_list, methods=["GET"],
                  name="relay_pick_list")]
