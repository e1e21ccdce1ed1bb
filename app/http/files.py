"""The GET /files/{key} route: uploaded files' bytes (content checks are in app.core.sniff)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.core.enums import UploadKind
from app.core.errors import AppError
from app.http.unit_of_work import open_unit_of_work
from resolvers.accounts.authentication import authenticate_with_method
from resolvers.uploads import readable_upload


async def serve_file(request: Request) -> Response:
    """GET /files/{key}: avatars to anyone; a resume to its owner, their interviewers and staff."""
    uow = open_unit_of_work(request)
    try:
        viewer, error, _ = await authenticate_with_method(
            uow.services, uow.db, request.headers.get("authorization"), request.headers.get("x-api-key")
        )
        try:
            if error is not None:
                raise error
            found = await readable_upload(uow, viewer, request.path_params["key"])
        except AppError as exc:
            status = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403}.get(exc.code, 404)
            return JSONResponse({"error": {"message": exc.message, **exc.extensions}}, status_code=status)
    finally:
        await uow.close()
    upload, data = found
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "public, max-age=300" if upload.kind == UploadKind.AVATAR else "private, no-store",
        "Content-Disposition": "inline"
        if upload.kind == UploadKind.AVATAR
        else 'attachment; filename="resume.pdf"',
    }
    return Response(data, media_type=upload.content_type, headers=headers)


def file_routes() -> list[Route]:
    """The file-serving route, for the app factory."""
    return [Route("/files/{key}", serve_file, methods=["GET"])]
