"""A person's own notification choices: channels, quiet hours, the browsers they allowed.

The notification service (``server.notify.service``) reads them when it sends; a person
changes only their own, from the profile page or ``/api/v1/me/notifications``.
"""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.auth.models import User
from server.exceptions import AuthError
from server.notify import push
from server.notify.service import Prefs, notifying, prefs_of, set_prefs


class NotifyDoc(BaseModel):
    """How a person wants to be told."""

    model_config = ConfigDict(extra="forbid")

    mail: bool = Field(default=True, description="Booking mail: confirmations, reminders.")
    push: bool = Field(default=True, description="Notifications on the browsers you allowed.")
    morning: bool = Field(default=True, description="A morning summary on office days.")
    quiet_from: time | None = Field(default=None, description="Quiet hours begin (local).")
    quiet_to: time | None = Field(default=None, description="Quiet hours end (local).")
    browsers: int = Field(default=0, description="Browsers that may notify you (read only).")

    @model_validator(mode="after")
    def _both_or_none(self) -> NotifyDoc:
        if (self.quiet_from is None) != (self.quiet_to is None):
            raise ValueError("give both ends of the quiet hours, or neither")
        return self


class BrowserDoc(BaseModel):
    """A browser's push subscription, as ``PushSubscription.toJSON()`` gives it."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(min_length=10, max_length=1000)
    keys: dict[str, str] = Field(description="p256dh and auth, base64url.")

    @model_validator(mode="after")
    def _keys(self) -> BrowserDoc:
        if not {"p256dh", "auth"} <= set(self.keys) or any(
            len(self.keys[k]) > 200 for k in ("p256dh", "auth")
        ):
            raise ValueError("keys must hold p256dh and auth")
        return self


def _user(session: Session, username: str) -> User:
    row = session.scalar(select(User).where(User.username == username))
    if row is None:
        raise AuthError("the account of this token no longer exists")
    return row


def _minute(t: time | None) -> int | None:
    return None if t is None else t.hour * 60 + t.minute


def _time(m: int | None) -> time | None:
    return None if m is None else time(m // 60, m % 60)


def choices(session: Session, username: str) -> NotifyDoc:
    """The person's channels and quiet hours, and how many browsers may notify them."""
    user = _user(session, username)
    p = prefs_of(session, user.id)
    return NotifyDoc(
        mail=p.mail,
        push=p.push,
        morning=p.morning,
        quiet_from=_time(p.quiet_from),
        quiet_to=_time(p.quiet_to),
        browsers=push.subscriptions(session, user.id),
    )


def choose(session: Session, *, username: str, doc: NotifyDoc) -> NotifyDoc:
    """Keep the person's channels and quiet hours (audited)."""
    user = _user(session, username)
    set_prefs(
        session,
        user.id,
        Prefs(doc.mail, doc.push, _minute(doc.quiet_from), _minute(doc.quiet_to), doc.morning),
    )
    record(
        session,
        actor=username,
        action="user.notifications",
        target_kind="user",
        target_id=username,
        **doc.model_dump(mode="json", exclude={"browsers"}),
    )
    return choices(session, username)


def allow_browser(session: Session, *, username: str, doc: BrowserDoc, hosts: list[str]) -> int:
    """Let a browser of the person's notify them; how many may now."""
    user = _user(session, username)
    push.subscribe(
        session,
        user_id=user.id,
        endpoint=doc.endpoint,
        p256dh=doc.keys["p256dh"],
        auth=doc.keys["auth"],
        hosts=hosts,
    )
    return push.subscriptions(session, user.id)


def forget_browser(session: Session, *, username: str, endpoint: str) -> int:
    """Stop a browser of the person's notifying them; how many still may."""
    user = _user(session, username)
    push.unsubscribe(session, user_id=user.id, endpoint=endpoint)
    return push.subscriptions(session, user.id)


def push_on(session: Session) -> bool:
    """Whether this server sends push notifications (it has a VAPID key)."""
    found = notifying(session)
    return found is not None and found.push
