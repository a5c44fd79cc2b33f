"""The offline sandbox checkout: a payment provider where no money moves (the default).

Its page is served by this app under ``/sandbox/checkout/{id}``, plainly marked, with Pay
and Cancel buttons; paying tells the desk at once through ``on_paid``, as a provider's
webhook would. It keeps its checkouts in ``sandbox_checkouts``; the desk keeps its own
record of every checkout in ``payments``. The interface it meets is
``booking.payments.provider.PaymentProvider``; Stripe Checkout is the other provider.
"""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from sqlite_utils import Database, Migrations
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from booking.domain.wording import money
from booking.html_page import page
from booking.payments.provider import SESSION_PLACEHOLDER, Checkout
from booking.store import Store, first, iso
from booking.store import privacy as personal

BANNER = "Sandbox checkout — no card is charged and no money moves."

migrations = Migrations("sandbox_checkout")


@migrations()
def c001_sandbox_checkouts(db: Database) -> None:
    db["sandbox_checkouts"].create(
        {
            "id": str,
            "idempotency_key": str,
            "attempt_id": str,
            "amount": str,
            "currency": str,
            "description": str,
            "email": str,
            "success_url": str,
            "cancel_url": str,
            "status": str,
            "created_at": str,
        },
        pk="id",
    )
    db["sandbox_checkouts"].create_index(["idempotency_key"], unique=True)


class SandboxCheckout:
    """A stand-in for a hosted checkout: no money moves. ``on_paid`` is told about every
    payment, as a provider's webhook would tell the desk."""

    name = "sandbox"

    def __init__(
        self,
        store: Store,
        *,
        public_url: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.public_url = public_url.rstrip("/")
        self.clock = clock
        self.on_paid: Callable[[str, str], object] | None = None  # (attempt id, checkout id)
        migrations.apply(store.db)

    def _row(self, checkout_id: str) -> dict | None:
        """One stored checkout, or None for an id we never issued."""
        return first(self.store.db, "SELECT * FROM sandbox_checkouts WHERE id = ?", [checkout_id])

    def _checkout(self, row: dict) -> Checkout:
        """A stored checkout as the provider interface returns it (its page is the URL)."""
        return Checkout(
            row["id"],
            f"{self.public_url}/sandbox/checkout/{row['id']}",
            row["status"],
            row["attempt_id"],
        )

    def create(
        self,
        *,
        attempt_id: str,
        amount: Decimal,
        currency: str,
        description: str,
        email: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> Checkout:
        """Open a checkout; the same ``idempotency_key`` gives back the same one."""
        with self.store.write() as db:
            db["sandbox_checkouts"].insert(
                {
                    "id": "cs_sandbox_" + secrets.token_urlsafe(18),
                    "idempotency_key": idempotency_key,
                    "attempt_id": attempt_id,
                    "amount": str(amount),
                    "currency": currency,
                    "description": description,
                    "email": email,
                    "success_url": success_url,
                    "cancel_url": cancel_url,
                    "status": "open",
                    "created_at": iso(self.clock()),
                },
                ignore=True,  # the same idempotency key gives back the same checkout
            )
        row = first(
            self.store.db,
            "SELECT * FROM sandbox_checkouts WHERE idempotency_key = ?",
            [idempotency_key],
        )
        return self._checkout(row)

    def retrieve(self, checkout_id: str) -> Checkout:
        """Whether a checkout was paid; an unknown id reads as expired, as Stripe's would."""
        row = self._row(checkout_id)
        if row is None:
            return Checkout(checkout_id, "", "expired")
        return self._checkout(row)

    def expire(self, checkout_id: str) -> Checkout:
        """Close an open checkout, as Stripe's ``/expire`` does: it cannot be paid after.
        A paid one stays paid; an unknown id reads as expired."""
        with self.store.write() as db:
            db.execute(
                "UPDATE sandbox_checkouts SET status = 'expired' WHERE id = ? AND status = 'open'",
                [checkout_id],
            )
        return self.retrieve(checkout_id)

    def settle(self, checkout_id: str, *, paid: bool) -> dict | None:
        """The visitor pressed Pay or Cancel; returns the checkout row, or None if unknown.
        Only an open checkout takes a payment: an expired (cancelled) one is refused, as at
        Stripe, and the row says so."""
        with self.store.write() as db:
            if paid:
                db.execute(
                    "UPDATE sandbox_checkouts SET status = 'paid' WHERE id = ? AND status = 'open'",
                    [checkout_id],
                )
        row = self._row(checkout_id)
        if row and paid and row["status"] == "paid" and self.on_paid:
            self.on_paid(row["attempt_id"], checkout_id)
        return row

    # -- privacy -------------------------------------------------------------------------
    def _held(self, db: Database, email: str, attempt_ids, before: datetime | None) -> list:
        """Checkouts still carrying an email: to ``email`` (folded), of ``attempt_ids``, or
        opened before ``before``."""
        personal.register(db)
        return list(
            db.query(
                "SELECT * FROM sandbox_checkouts WHERE email IS NOT NULL AND (bd_fold(email) = ? "
                "OR attempt_id IN (SELECT value FROM json_each(?)) OR created_at < ?)",
                [email, json.dumps(sorted(attempt_ids)), iso(before) if before else ""],
            )
        )

    def erase(self, *, email: str = "", attempt_ids=(), before: datetime | None = None) -> int:
        """Forget the email of a person's checkouts (or of everyone's opened ``before``), as
        a provider deletes a customer; the checkouts themselves stay. Rows changed."""
        with self.store.write() as db:
            held = self._held(db, email, attempt_ids, before)
            for row in held:
                db["sandbox_checkouts"].update(row["id"], {"email": None})
        return len(held)

    def export(self, *, email: str = "", attempt_ids=()) -> list[dict]:
        """A person's checkouts, whole."""
        return self._held(self.store.db, email, attempt_ids, None)

    # -- the checkout page ---------------------------------------------------------------
    def routes(self) -> list[Route]:
        """The checkout page, for the app's route table."""

        async def checkout_page(request: Request) -> Response:
            """GET shows the price and the buttons; POST settles and sends the visitor on."""
            checkout_id = request.path_params["checkout_id"]
            if request.method == "POST":
                form = await request.form()
                paid = form.get("action") == "pay"
                row = await run_in_threadpool(self.settle, checkout_id, paid=paid)
                if row is None:
                    return _page("Checkout not found", "<h1>This checkout does not exist</h1>", 404)
                if paid and row["status"] != "paid":
                    return _page("Checkout closed", _closed(row), 409)
                if paid:
                    target = row["success_url"].replace(SESSION_PLACEHOLDER, checkout_id)
                else:
                    target = row["cancel_url"]
                return RedirectResponse(target, status_code=303)
            row = self._row(checkout_id)
            if row is None:
                return _page(
                    "Checkout not found",
                    "<h1>This checkout does not exist</h1><p>Please start again from the "
                    "booking page.</p>",
                    404,
                )
            e = html.escape
            price = money(row["amount"], row["currency"])
            if row["status"] == "expired":
                body = _closed(row)
            elif row["status"] == "paid":
                back = row["success_url"].replace(SESSION_PLACEHOLDER, checkout_id)
                body = (
                    f"<h1>Already paid</h1><p>{e(row['description'])} is paid.</p>"
                    f"<p><a href='{e(back)}'>Continue</a></p>"
                )
            else:
                body = (
                    f"<h1>Pay {e(price)}</h1><p>{e(row['description'])}</p>"
                    f"<p class=muted>Receipt to {e(row['email'] or 'nobody (erased)')}</p>"
                    "<form method=post><button name=action value=pay type=submit>"
                    f"Pay {e(price)}</button> <button name=action value=cancel type=submit "
                    "class=secondary>Cancel</button></form>"
                )
            return _page("Sandbox checkout", body)

        return [Route("/sandbox/checkout/{checkout_id}", checkout_page, methods=["GET", "POST"])]


def _closed(row: dict) -> str:
    """The page of a cancelled or expired checkout: nothing to pay, the way back."""
    e = html.escape
    return (
        f"<h1>This checkout is closed</h1><p>{e(row['description'])}</p>"
        "<p>It was cancelled or has expired, so it cannot be paid and nothing was charged.</p>"
        f"<p><a href='{e(row['cancel_url'])}'>Back to the booking page</a></p>"
    )


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """A checkout page in the shared shell, plainly marked as the sandbox."""
    return page(f"{title} · payment sandbox", body, status=status, banner=BANNER)
