"""The GET /files/{key} route: uploaded files' bytes, decrypted (content checks are in
app.core.sniff, encryption at rest in app.core.file_crypto)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.core.enums import UploadKind
from app.core.errors import AppError
from app.core.file_crypto import DamagedFile, WrongFilesKey
from app.http.unit_of_work import open_unit_of_work
from resolvers.accounts.authentication import authenticate_with_method
from resolvers.uploads import readable_upload

logger = logging.getLogger("mockinterview.files")
UNREADABLE = {"error": {"message": "The file cannot be read right now.", "code": "UNAVAILABLE"}}


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
        except (WrongFilesKey, DamagedFile) as exc:
            # An operator's matter (a files key rotated but not yet rolled out, a damaged object),
            # not the client's: say so in the log, not in the reply.
            logger.error("file %s cannot be decrypted: %s", request.path_params["key"], exc)
            return JSONResponse(UNREADABLE, status_code=503)
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
