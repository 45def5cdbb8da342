"""GET /jobs/{id} (status, progress, result) and POST /jobs/{id}/cancel.

Cancel is a POST on a sub-resource, not DELETE /jobs/{id}: the job is not deleted (it stays readable,
as `canceled`, until it expires), and DELETE promises that the resource is gone."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Response

from service.body import JSONRoute
from service.deps import ApiKey, AppState, State
from service.errors import ApiError, error_responses
from service.schemas import JobView

router = APIRouter(tags=["jobs"], dependencies=[ApiKey], route_class=JSONRoute)

_JOB_ID = re.compile(r"[0-9a-f]{32}")
# Documented, not validated by FastAPI: a malformed id is a job that does not exist (404), like any other.
JobId = Annotated[
    str,
    Path(description="the id POST /augment answered", json_schema_extra={"pattern": "^[0-9a-f]{32}$"}),
]


def _not_found(job_id: str, state: AppState) -> ApiError:
    # An id is 32 characters: anything longer is cut, so a 10,000-character path is not echoed back.
    shown = job_id if len(job_id) <= 40 else job_id[:40] + "..."
    return ApiError(
        404,
        "not_found",
        f"no job {shown!r}: the id is unknown or the job expired (results are kept "
        f"{state.settings.result_ttl_s} s, RESULT_TTL_S)",
    )


@router.get(
    "/jobs/{job_id}",
    response_model=JobView,
    summary="Status, progress and result of a job",
    responses=error_responses(401, 404, 503, s503="Redis down"),
)
def get_job(job_id: JobId, state: State) -> JobView:
    view = state.backend.get(job_id) if _JOB_ID.fullmatch(job_id) else None
    if view is None:
        raise _not_found(job_id, state)
    return view


@router.post(
    "/jobs/{job_id}/cancel",
    response_model=JobView,
    summary="Cancel a job",
    responses={
        200: {"description": "canceled (it was queued, or already canceled)"},
        202: {
            "model": JobView,
            "description": "cancellation requested; the running job stops within a second",
        },
        **error_responses(401, 404, 409, 503, s503="Redis down"),
    },
)
def cancel_job(job_id: JobId, state: State, response: Response) -> JobView:
    view = state.backend.cancel(job_id) if _JOB_ID.fullmatch(job_id) else None
    if view is None:
        raise _not_found(job_id, state)
    if view.status in ("succeeded", "failed"):
        raise ApiError(409, "conflict", f"job {job_id} already {view.status}; there is nothing to cancel")
    if view.status == "running":
        response.status_code = 202
    return view
