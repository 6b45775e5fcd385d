"""Notifications: your channels, quiet hours and browsers; answers to a booking's reminder.

A reminder's answer needs no session: its link's token is the credential.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from server.api.deps import Anyone, DatabaseDep, Public, ServicesDep, SettingsDep
from server.auth import notifications
from server.auth.notifications import BrowserDoc, NotifyDoc
from server.bookings import answers
from server.exceptions import NotFoundError
from server.i18n import T

router = APIRouter(prefix="/api/v1", tags=["notifications"])

Token = Annotated[str, Path(min_length=10, max_length=400, description="The link's token.")]


class PushKey(BaseModel):
    """The server's VAPID public key, which a browser subscribes with."""

    key: str


class Browsers(BaseModel):
    """How many browsers may notify you."""

    browsers: int


class AnswerPublic(BaseModel):
    """What a reminder's answer did."""

    action: str
    booking: int
    space: str
    held_until: str | None = None


@router.get("/push/key", response_model=PushKey, dependencies=[Public])
def push_key(services: ServicesDep) -> PushKey:
    """The application server key for ``pushManager.subscribe`` (404: no push here)."""
    key = services.db.notifying.vapid_public_key if services.db.notifying else None
    if not key:
        raise NotFoundError(T("this server sends no push notifications (no VAPID key is set)"))
    return PushKey(key=key)


@router.get("/me/notifications", response_model=NotifyDoc)
def my_notifications(user: Anyone, db: DatabaseDep) -> NotifyDoc:
    """Your channels, quiet hours and browsers."""
    with db.session(commit=False) as session:
        return notifications.choices(session, user.username)


@router.put("/me/notifications", response_model=NotifyDoc)
def set_my_notifications(doc: NotifyDoc, user: Anyone, db: DatabaseDep) -> NotifyDoc:
    """Choose your channels (mail, push), the morning summary and quiet hours."""
    with db.session() as session:
        return notifications.choose(session, username=user.username, doc=doc)


@router.post("/me/push-subscriptions", response_model=Browsers, status_code=201)
def allow_browser(
    doc: BrowserDoc, user: Anyone, db: DatabaseDep, settings: SettingsDep
) -> Browsers:
    """Let this browser notify you (its ``PushSubscription``, as JSON)."""
    with db.session() as session:
        n = notifications.allow_browser(
            session, username=user.username, doc=doc, hosts=settings.push_hosts
        )
        return Browsers(browsers=n)


@router.delete("/me/push-subscriptions", response_model=Browsers)
def forget_browser(
    user: Anyone,
    db: DatabaseDep,
    endpoint: Annotated[str, Query(max_length=1000)],
) -> Browsers:
    """Stop a browser notifying you."""
    with db.session() as session:
        return Browsers(
            browsers=notifications.forget_browser(
                session, username=user.username, endpoint=endpoint
            )
        )


@router.post("/reminders/{token}", response_model=AnswerPublic, dependencies=[Public])
def answer_reminder(
    token: Token, db: DatabaseDep, action: Literal["coming", "release"]
) -> AnswerPublic:
    """Answer a booking's reminder: ``coming`` keeps the desk a while, ``release`` frees it."""
    with db.session() as session:
        done = answers.answer(session, token=token, action=action)
        return AnswerPublic(
            action=done.action,
            booking=done.booking,
            space=done.space,
            held_until=done.held_until.isoformat() if done.held_until else None,
        )
