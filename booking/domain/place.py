"""Where a meeting happens (pure): a video link, a phone number or an address.

A meeting type's ``location`` in the catalogue is one of

    "https://meet.example.com/maya"               a video link (the same room every time)
    "https://meet.example.com/maya-{reference}"   a video link per booking
    "tel:+44 20 7946 0000"                        a phone number
    "Studio 4, 12 Example Street, London"         an address, or any text a person reads

``check_location`` refuses anything else at start-up; ``place_of`` fills in the booking's
reference and says how to show it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

TEMPLATE = "{reference}"
_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,30}$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_WORDY_SCHEMES = {"javascript", "data", "vbscript", "file", "blob"}
MAX_LOCATION = 500

LABELS = {"video": "Video call", "phone": "Phone", "address": "Address"}


@dataclass(frozen=True)
class Place:
    """A meeting's place as a person reads it: ``text`` to show, ``url`` to open (a video
    link or a ``tel:`` number; empty for an address)."""

    kind: str  # 'video' | 'phone' | 'address'
    text: str
    url: str = ""

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def is_link(self) -> bool:
        return self.kind == "video"


def _kind(text: str) -> str:
    if text.lower().startswith(("https://", "http://")):
        return "video"
    if text.lower().startswith("tel:"):
        return "phone"
    return "address"


def check_location(value: str) -> str:
    """The location as written, or ValueError saying what to write instead."""
    text = value.strip()
    if not text:
        return ""
    if len(text) > MAX_LOCATION:
        raise ValueError(f"keep the location under {MAX_LOCATION} characters")
    braces = re.sub(re.escape(TEMPLATE), "", text)
    if "{" in braces or "}" in braces:
        raise ValueError(
            "the only placeholder a location may hold is {reference} (the booking's reference)"
        )
    kind = _kind(text)
    if kind == "video":
        sample = text.replace(TEMPLATE, "BD-2345-6789-ABCD")
        parts = urlsplit(sample)
        if not parts.netloc or any(c.isspace() for c in sample) or "@" in parts.netloc:
            raise ValueError(f"{text!r} is not a web address like https://meet.example.com/room")
    elif kind == "phone":
        if not _PHONE.match(text[4:].strip()):
            raise ValueError(f"{text!r} is not a phone number like tel:+44 20 7946 0000")
    else:
        scheme = _SCHEME.match(text)
        if scheme and (scheme[1].lower() in _WORDY_SCHEMES or text[scheme.end() :][:2] == "//"):
            raise ValueError(f"{text!r} is neither an https:// link, a tel: number nor an address")
        if "\n" in text or "\r" in text:
            raise ValueError("write the address on one line, parts separated by commas")
    return text


def place_of(location: str, reference: str) -> Place | None:
    """The place of one booking (its reference filled in), or None when there is none."""
    text = (location or "").strip()
    if not text:
        return None
    text = text.replace(TEMPLATE, reference)
    kind = _kind(text)
    if kind == "video":
        return Place("video", text, text)
    if kind == "phone":
        number = text[4:].strip()
        return Place("phone", number, "tel:" + re.sub(r"[^0-9+]", "", number))
    return Place("address", text)
