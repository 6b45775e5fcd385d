"""One notification service: a message for a person goes out by each channel they chose.

A message (``Message``) is written once, in the person's words, by the area that has
something to tell (a booking's reminder: ``server.bookings.remind``); ``send`` queues it on
every channel the person keeps on, unless it falls in their quiet hours. Each channel keeps
its own outbox, in the transaction of the change it tells of, and sends it later, once:

- ``mail``: the mail outbox (``server.notify.mail``), where an SMTP server is set;
- ``push``: Web Push to each browser the person allowed (``server.notify.push``), where the
  server has a VAPID key.

Another channel (a Telegram or WhatsApp gateway an agency runs) is one more ``Channel`` in
``CHANNELS``: an object with a ``name`` and a ``queue`` that writes its own outbox row, and
a sender that drains it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.clock import now_ms
from server.db import DATABASE
from server.notify import mail
from server.notify.models import NotifyPrefs, PushMessage, PushSubscription, SentNotice


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a message is for: their account's id and their e-mail address."""

    user_id: int
    email: str | None


@dataclass(frozen=True, slots=True)
class Action:
    """A button on a notification: its name, its label, and the address it posts to."""

    name: str
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Message:
    """What a person is told, in their words."""

    key: str
    """What it tells, unique per person (``reminder:42``): each channel sends it once."""
    title: str
    body: str
    url: str
    """Where tapping it leads."""
    actions: tuple[Action, ...] = ()
    mail_subject: str | None = None
    mail_body: str | None = None
    """The mail's own text when it says more than the notification (else title and body)."""


@dataclass(frozen=True)
class Notifying:
    """What the notification service knows of the deployment (set on the Database)."""

    public_url: str
    secret: str
    """Signs the links in messages (an action link is its own credential)."""
    push: bool = False
    hold_minutes: int = 15
    links_salt: str = "reminder-links"
    vapid_public_key: str | None = None

    def signer(self) -> URLSafeTimedSerializer:
        """Signs and reads action links."""
        return URLSafeTimedSerializer(self.secret, salt=self.links_salt)

    def link(self, path: str, claims: dict[str, object]) -> str:
        """An absolute link carrying ``claims``, signed."""
        token = self.signer().dumps(claims)
        return f"{self.public_url.rstrip('/')}{path}/{token}"

    def read(self, token: str, max_age_s: int) -> dict[str, object] | None:
        """The claims of a link's token, or None when it is forged or too old."""
        try:
            found = self.signer().loads(token, max_age=max_age_s)
        except BadData:
            return None
        return found if isinstance(found, dict) else None


NOTIFYING: Final = "notifying"
"""Where the Database keeps its ``Notifying`` (``db.info``)."""


def notifying(session: Session) -> Notifying | None:
    """The deployment's notifying settings, from the session's database (None: none)."""
    db = session.info.get(DATABASE)
    found = getattr(db, "notifying", None)
    return found if isinstance(found, Notifying) else None


class Channel(Protocol):
    """A way of reaching a person, with its own outbox."""

    name: str

    def queue(self, session: Session, user: Recipient, message: Message) -> bool:
        """Queue ``message`` for ``user``; whether it will go out by this channel."""


class MailChannel:
    """E-mail, through the mail outbox."""

    name = "mail"

    def queue(self, session: Session, user: Recipient, message: Message) -> bool:
        """Queue the mail (where mail is sent, to the person's address)."""
        body = message.mail_body or f"{message.body}\n\n{message.url}"
        return mail.queue(
            session, to=user.email, subject=message.mail_subject or message.title, body=body
        )


class PushChannel:
    """Web Push to each browser the person allowed; one message per key and browser."""

    name = "push"

    def queue(self, session: Session, user: Recipient, message: Message) -> bool:
        """Queue a push for each of the person's browsers that has not had this key."""
        found = notifying(session)
        if found is None or not found.push:
            return False
        payload = json.dumps(
            {
                "title": message.title,
                "body": message.body,
                "url": message.url,
                "tag": message.key,
                "actions": [
                    {"action": a.name, "title": a.title, "url": a.url} for a in message.actions
                ],
            },
            ensure_ascii=False,
        )
        subs = session.scalars(
            select(PushSubscription.id).where(PushSubscription.user_id == user.user_id)
        ).all()
        if not subs:
            return False
        had = set(
            session.scalars(
                select(PushMessage.subscription_id).where(
                    PushMessage.subscription_id.in_(subs), PushMessage.key == message.key
                )
            )
        )
        made = now_ms()
        for sub in subs:
            if sub not in had:
                row = PushMessage(subscription_id=sub, key=message.key, payload=payload)
                row.created_ms = made
                session.add(row)
        return True


CHANNELS: Final[list[Channel]] = [MailChannel(), PushChannel()]


@dataclass
class Prefs:
    """A person's channels and quiet hours."""

    mail: bool = True
    push: bool = True
    quiet_from: int | None = None
    quiet_to: int | None = None
    morning: bool = True

    def on(self, channel: str) -> bool:
        """Whether the person keeps ``channel`` on (a channel they never chose: on)."""
        return bool(getattr(self, channel, True))

    def quiet(self, local: datetime) -> bool:
        """Whether ``local`` (the person's local time) falls in their quiet hours."""
        if self.quiet_from is None or self.quiet_to is None or self.quiet_from == self.quiet_to:
            return False
        minute = local.hour * 60 + local.minute
        if self.quiet_from < self.quiet_to:
            return self.quiet_from <= minute < self.quiet_to
        return minute >= self.quiet_from or minute < self.quiet_to


def prefs_of(session: Session, user_id: int) -> Prefs:
    """The person's choices (the defaults until they make any)."""
    row = session.get(NotifyPrefs, user_id)
    if row is None:
        return Prefs()
    return Prefs(row.mail, row.push, row.quiet_from, row.quiet_to, row.morning)


def set_prefs(session: Session, user_id: int, prefs: Prefs) -> Prefs:
    """Keep the person's choices."""
    row = session.get(NotifyPrefs, user_id)
    if row is None:
        row = NotifyPrefs(user_id=user_id)
        session.add(row)
    row.mail, row.push, row.morning = prefs.mail, prefs.push, prefs.morning
    row.quiet_from, row.quiet_to = prefs.quiet_from, prefs.quiet_to
    return prefs


def send(
    session: Session,
    *,
    user: Recipient,
    message: Message,
    local: datetime,
    only: tuple[str, ...] | None = None,
) -> list[str]:
    """Queue ``message`` on the person's channels (``only`` these); the channels it went on.

    Nothing goes out in the person's quiet hours (``local`` is their time now), and nothing
    twice: a message's ``key`` is kept once it went (``notices_sent``).
    """
    prefs = prefs_of(session, user.user_id)
    if prefs.quiet(local):
        return []
    if session.get(SentNotice, (user.user_id, message.key)) is not None:
        return []  # told already
    went = [
        c.name
        for c in CHANNELS
        if (only is None or c.name in only) and prefs.on(c.name) and c.queue(session, user, message)
    ]
    if went:
        session.add(SentNotice(user_id=user.user_id, key=message.key, sent_ms=now_ms()))
    return went
