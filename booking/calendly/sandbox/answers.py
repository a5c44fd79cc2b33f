"""The sandbox API's answers, in Calendly's shapes: a status, a JSON body and headers, and
Calendly's error body ``{"title", "message", "details"?}``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Answer:
    """One API answer: status, JSON body (None for 204) and extra headers."""

    status: int
    body: dict | None
    headers: dict = field(default_factory=dict)


def error(status: int, title: str, message: str, details: list | None = None) -> Answer:
    """An answer in Calendly's error shape."""
    body: dict = {"title": title, "message": message}
    if details:
        body["details"] = details
    return Answer(status, body)


def not_found() -> Answer:
    """Calendly's 404."""
    return error(404, "Resource Not Found", "The server could not find the requested resource.")


def invalid(details: list | None = None) -> Answer:
    """Calendly's 400, with the parameters it disliked when there are any."""
    return error(400, "Invalid Argument", "The supplied parameters are invalid.", details)


def refuse(parameter: str, message: str) -> Answer:
    """A 400 naming one parameter."""
    return invalid([{"parameter": parameter, "message": message}])
