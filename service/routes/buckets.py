"""Bucket routes: list, create, delete; and the admin view and switch of a bucket's route."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from ..access import access_of
from ..auth import authorize, require
from ..placement import compliance
from ..models import BackendList, BackendStatus, BucketList, BucketOut, RouteOut, RouteSwitch, RouteSwitched
from ..tokens import TokenInfo
from . import PROBLEM_RESPONSES, gateway_of, problem_response, resolve, run

router = APIRouter(prefix="/v1", tags=["buckets"], responses=PROBLEM_RESPONSES)


@router.get("/buckets", response_model=BucketList, summary="The logical buckets this token sees")
async def list_buckets(request: Request,
                       token: Annotated[TokenInfo, Depends(authorize("read", "list_buckets"))]
                       ) -> BucketList:
    routes = gateway_of(request).list_buckets()
    return BucketList(buckets=[BucketOut(name=name, backend=route.backend)
                               for name, route in routes.items() if token.sees(name)])


@router.put("/buckets/{bucket}", status_code=201, response_model=BucketOut,
            dependencies=[require("write", "create_bucket")],
            responses={409: problem_response(
                "The bucket exists, or the backend holds that name for another bucket"),
                403: problem_response("The bucket's placement policy refuses the backend")},
            summary="Create a bucket on a backend (default: the configured default backend)")
async def create_bucket(request: Request, bucket: str,
                        backend: Annotated[str | None, Query(max_length=64)] = None) -> BucketOut:
    # Only a configured backend's name may become a metrics label (any string would grow the
    # label set without bound); an unknown one is refused below with 400.
    chosen = backend or gateway_of(request).default_backend
    access_of(request).backend = chosen if chosen in gateway_of(request).stores else None
    route = await run(gateway_of(request).create_bucket, bucket, backend)
    access_of(request).backend = route.backend
    return BucketOut(name=bucket, backend=route.backend)


@router.delete("/buckets/{bucket}", status_code=204,
               dependencies=[require("write", "delete_bucket")],
               responses={409: problem_response("The bucket still holds objects")},
               summary="Delete an empty bucket and its route")
async def delete_bucket(request: Request, bucket: str) -> Response:
    resolve(request, bucket)
    await run(gateway_of(request).delete_bucket, bucket)
    return Response(status_code=204)


@router.get("/buckets/{bucket}/route", response_model=RouteOut,
            dependencies=[require("admin", "get_route")], summary="Where a bucket lives")
async def get_route(request: Request, bucket: str) -> RouteOut:
    target = resolve(request, bucket)
    return RouteOut(bucket=bucket, backend=target.route.backend,
                    physical_bucket=target.route.physical)


@router.get("/buckets/{bucket}/compliance", dependencies=[require("read", "get_compliance")],
            summary="The bucket's placement policy judged on every configured backend")
async def get_compliance(request: Request, bucket: str) -> dict[str, Any]:
    target = resolve(request, bucket)
    return compliance(gateway_of(request).config.settings, bucket, target.route.backend)


@router.put("/buckets/{bucket}/route", response_model=RouteSwitched,
            dependencies=[require("admin", "switch_route")],
            responses={409: problem_response("No passed exit drill that read every object back"),
                       403: problem_response("The bucket's placement policy refuses the backend")},
            summary="Switch a bucket to another backend (needs a passed exit drill)")
async def switch_route(request: Request, bucket: str, body: RouteSwitch) -> RouteSwitched:
    access = access_of(request)
    access.detail = {"target_backend": body.backend}
    resolve(request, bucket)
    result = await run(gateway_of(request).switch_route, bucket, body.backend,
                       check_writes=body.check_writes_since_drill)
    drill_id = result.drill.get("id")
    finished = result.drill.get("finished")
    access.detail = {"previous_backend": result.previous.backend, "target_backend": body.backend,
                     "drill": None if drill_id is None else str(drill_id)}
    return RouteSwitched(bucket=bucket, backend=result.current.backend,
                         physical_bucket=result.current.physical,
                         previous_backend=result.previous.backend,
                         drill_id=None if drill_id is None else str(drill_id),
                         drill_finished=None if finished is None else str(finished))


@router.get("/backends", response_model=BackendList,
            dependencies=[require("read", "list_backends")], summary="The configured backends")
async def backends(request: Request) -> BackendList:
    settings = gateway_of(request).config.settings.backends
    return BackendList(backends=[BackendStatus(name=name, type=settings[name].type)
                                 for name in sorted(settings)])
