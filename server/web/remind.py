"""A booking reminder's answers, from the link in its mail or notification.

The link's token is the credential (no sign-in on a phone in a hurry). Opening it shows the
two answers; the answer is a POST (a link a mail scanner opens changes nothing). A push's
button posts it at once and gets a sentence back to show.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from server.api.deps import DatabaseDep, Public
from server.api.errors import status_of
from server.bookings import answers
from server.exceptions import ServerError
from server.i18n import gettext, say
from server.web.render import Say, page_language, render

router = APIRouter(include_in_schema=False)
Token = Annotated[str, Path(min_length=10, max_length=400)]


@router.get("/r/{token}", dependencies=[Public])
async def reminder_page(request: Request, token: Token) -> Response:
    """The reminder's two answers, as buttons."""
    return render(request, "remind.html", user=None, token=token, done=None)


@router.post("/r/{token}", dependencies=[Public])
async def reminder_answer(
    request: Request,
    token: Token,
    db: DatabaseDep,
    action: Annotated[str | None, Form(max_length=16)] = None,
    asked: Annotated[str | None, Query(alias="action", max_length=16)] = None,
) -> Response:
    """Carry out the answer; a page (or a sentence, for a push's button) says what it did."""
    lang = page_language(request, None)
    chosen = action or asked or ""

    def act() -> answers.Answered:
        with db.session() as session:
            return answers.answer(session, token=token, action=chosen)

    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        done = await run_in_threadpool(act)
    except ServerError as exc:
        said = say(exc.args[0], lang) if exc.args else ""
        status = status_of(exc, default=400)
        if wants_json:
            return JSONResponse({"said": said}, status_code=status)
        return render(
            request, "remind.html", user=None, token=token, done=None, error=said, status=status
        )
    said = _said(lang, done)
    if wants_json:
        return JSONResponse({"title": "IKN Smart Office", "said": said})
    return render(request, "remind.html", user=None, token=token, done=said)


def _said(lang: str, done: answers.Answered) -> str:
    if done.action == "release":
        return gettext(lang, "Desk {desk} is released: others may book it now.").format(
            desk=done.space
        )
    until = Say(lang).time(done.held_until) if done.held_until else ""
    return gettext(lang, "Desk {desk} waits for you until {time}.").format(
        desk=done.space, time=until
    )
