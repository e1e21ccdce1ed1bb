"""Avatar and resume uploads (checked by content, sealed at rest), who may read them, and the
rotation of the key that wraps their data keys."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import STAFF_ROLES, InterviewStatus, UploadKind
from app.core.errors import BadUserInput, NotFound
from app.core.file_crypto import FilesKey, rewrap, seal, unseal
from app.core.sniff import Sniffed, sniff_image, sniff_pdf
from app.core.storage import new_key, storage_for
from dataloaders import forget
from db.models import Interview, Upload, User
from db.session import Db
from resolvers import audit
from resolvers.unit_of_work import UnitOfWork

NOT_FOUND = "No file with this ID."


def _within_limit(data: bytes, limit: int) -> bytes:
    """`data` unless it is empty or over `limit` bytes (the caller reads at most `limit + 1`)."""
    if len(data) > limit:
        raise BadUserInput(f"The file is larger than {limit} bytes.", field="file")
    if not data:
        raise BadUserInput("The file is empty.", field="file")
    return data


async def _store(uow: UnitOfWork, actor: User, kind: UploadKind, data: bytes, sniffed: Sniffed) -> Upload:
    storage = storage_for(uow.settings)
    key = new_key(sniffed.extension)
    sealed = seal(uow.settings.resolved_files_key(), data, name=key)
    await storage.save(key, sealed.blob)
    try:
        async with uow.db.transaction() as session:
            previous = (
                await session.scalars(
                    delete(Upload)
                    .where(Upload.owner_id == actor.id, Upload.kind == kind)
                    .returning(Upload.storage_key)
                )
            ).all()
            upload = Upload(
                owner_id=actor.id,
                kind=kind,
                storage_key=key,
                content_type=sniffed.content_type,
                size_bytes=len(data),
                width=sniffed.width,
                height=sniffed.height,
                wrapped_key=sealed.wrapped_key,
                key_id=sealed.key_id,
            )
            session.add(upload)
            await session.flush()
            await audit.record(
                session,
                f"upload.{kind.lower()}",
                actor_id=actor.id,
                target_type="UploadedFile",
                target_id=upload.id,
                ip=uow.client_ip,
                size=len(data),
            )
            await session.refresh(upload)

            async def drop_previous() -> None:
                for old in previous:
                    await storage.delete(old)

            uow.db.after_commit(drop_previous)
    except BaseException:
        await storage.delete(key)
        raise
    return upload


async def upload_avatar(uow: UnitOfWork, actor: User, data: bytes) -> Upload:
    """Store a new avatar (PNG/JPEG/WebP by magic bytes, size and pixel limits); replaces the old one."""
    settings = uow.settings
    data = _within_limit(data, settings.max_avatar_bytes)
    image = sniff_image(data)
    assert image.width is not None
    assert image.height is not None
    side = settings.max_avatar_side_pixels
    if image.width > side or image.height > side or image.width * image.height > settings.max_avatar_pixels:
        raise BadUserInput(f"The image may be at most {side}x{side} pixels.", field="file")
    return await _store(uow, actor, UploadKind.AVATAR, data, image)


async def upload_resume(uow: UnitOfWork, actor: User, data: bytes) -> Upload:
    """Store a new resume (PDF by magic bytes, size limit); replaces the old one."""
    data = _within_limit(data, uow.settings.max_resume_bytes)
    return await _store(uow, actor, UploadKind.RESUME, data, sniff_pdf(data))


async def remove_avatar(uow: UnitOfWork, actor: User) -> User:
    """Delete the actor's avatar: its row now, its stored file once that has committed. Removing an
    avatar that is not there changes nothing."""
    storage = storage_for(uow.settings)
    async with uow.db.transaction() as session:
        removed = (
            await session.execute(
                delete(Upload)
                .where(Upload.owner_id == actor.id, Upload.kind == UploadKind.AVATAR)
                .returning(Upload.id, Upload.storage_key)
            )
        ).all()
        if removed:
            await audit.record(
                session,
                "upload.avatar_removed",
                actor_id=actor.id,
                target_type="UploadedFile",
                target_id=removed[0].id,
                ip=uow.client_ip,
            )

            async def drop_files() -> None:
                for row in removed:
                    await storage.delete(row.storage_key)

            uow.db.after_commit(drop_files)
        user = await session.get(User, actor.id, populate_existing=True)
    if user is None:
        raise NotFound("No User with this ID.")
    for row in removed:
        forget(uow.loaders.upload, row.id)
    return user


async def may_read(db: Db, upload: Upload, viewer: User | None) -> bool:
    """Avatars: anyone. Resumes: the owner, staff, and interviewers of the owner's interviews."""
    if upload.kind == UploadKind.AVATAR:
        return True
    if viewer is None:
        return False
    if viewer.id == upload.owner_id or viewer.role in STAFF_ROLES:
        return True
    booked = select(
        exists().where(
            Interview.candidate_id == upload.owner_id,
            Interview.interviewer_id == viewer.id,
            Interview.status != InterviewStatus.CANCELLED,
        )
    )
    return bool((await db.execute(booked)).scalar())


async def readable_upload(uow: UnitOfWork, actor: User | None, key: str) -> tuple[Upload, bytes]:
    """The upload stored under `key` and its bytes, if `actor` may read it; NOT_FOUND otherwise."""
    upload = (await uow.db.execute(select(Upload).where(Upload.storage_key == key))).scalar()
    if upload is None or not await may_read(uow.db, upload, actor):
        raise NotFound(NOT_FOUND)
    data = await storage_for(uow.settings).load(upload.storage_key)
    if data is None:
        raise NotFound(NOT_FOUND)
    if upload.wrapped_key is None or upload.key_id is None:  # stored before encryption at rest
        return upload, data
    files_key = uow.settings.resolved_files_key()
    plain = unseal(
        files_key, data, wrapped_key=upload.wrapped_key, key_id=upload.key_id, name=upload.storage_key
    )
    return upload, plain


async def latest_upload(
    uow: UnitOfWork, actor: User | None, owner_id: int, kind: UploadKind
) -> Upload | None:
    """A member's current avatar or resume, when the viewer may see it."""
    statement = (
        select(Upload)
        .where(Upload.owner_id == owner_id, Upload.kind == kind)
        .order_by(Upload.id.desc())
        .limit(1)
    )
    upload: Upload | None = (await uow.db.execute(statement)).scalar()
    if upload is None or not await may_read(uow.db, upload, actor):
        return None
    return upload


@dataclass
class Rotation:
    """What `rotate_files_key` did: data keys re-wrapped, already under the new key, and wrapped by
    a third key (neither old nor new; left as they are)."""

    rewrapped: int = 0
    already: int = 0
    foreign: int = 0


async def _rotate_batch(
    session: AsyncSession, after: int, batch: int, old: FilesKey, new: FilesKey, rotation: Rotation
) -> int | None:
    """One batch of `rotate_files_key` in the caller's transaction: the last row id, None when done."""
    rows = (
        await session.execute(
            select(Upload.id, Upload.wrapped_key, Upload.key_id)
            .where(Upload.wrapped_key.is_not(None), Upload.id > after)
            .order_by(Upload.id)
            .limit(batch)
            .with_for_update()
        )
    ).all()
    changed = 0
    for row in rows:
        if row.key_id == new.key_id:
            rotation.already += 1
        elif row.key_id != old.key_id:
            rotation.foreign += 1
        else:
            wrapped = rewrap(row.wrapped_key, row.key_id, old=old, new=new)
            values = {"wrapped_key": wrapped, "key_id": new.key_id}
            await session.execute(update(Upload).where(Upload.id == row.id).values(**values))
            changed += 1
    if changed:
        rotation.rewrapped += changed
        await audit.record(
            session, "upload.files_key_rotated", actor_id=None, count=changed, old=old.key_id, new=new.key_id
        )
    return rows[-1].id if len(rows) == batch else None


async def rotate_files_key(uow: UnitOfWork, old: FilesKey, new: FilesKey, *, batch: int = 500) -> Rotation:
    """Re-wrap every data key wrapped by `old` with `new`, in batches of `batch` rows (one
    transaction each, rows locked); files are not touched. Idempotent: an interrupted run is resumed
    by running it again, and a second run catches rows that instances still on `old` uploaded
    meanwhile."""
    rotation = Rotation()
    after: int | None = 0
    while after is not None:
        async with uow.db.transaction() as session:
            after = await _rotate_batch(session, after, batch, old, new, rotation)
    return rotation
