"""Payment providers behind one small interface, and the offline sandbox checkout.

A provider creates a checkout for an attempt and later says whether it was paid. Two exist:
the **sandbox checkout** (default; its page is served by this app under
``/sandbox/checkout/{id}``, plainly marked, with Pay and Cancel buttons) and Stripe
Checkout (``booking.stripe_checkout``) when a secret key is configured. The desk keeps its
own record of every checkout in the ``payments`` table; providers only keep theirs.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from sqlite_utils import Database, Migrations
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from booking.domain.wording import money
from booking.payments.stripe import Checkout
from booking.store import Store, first, iso

SESSION_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"  # Stripe's, replaced in the success URL


class PaymentProvider(Protocol):
    name: str

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
    ) -> Checkout: ...

    def retrieve(self, checkout_id: str) -> Checkout: ...


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
        return first(self.store.db, "SELECT * FROM sandbox_checkouts WHERE id = ?", [checkout_id])

    def _checkout(self, row: dict) -> Checkout:
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
        row = self._row(checkout_id)
        if row is None:
            return Checkout(checkout_id, "", "expired")
        return self._checkout(row)

    def settle(self, checkout_id: str, *, paid: bool) -> dict | None:
        """The visitor pressed Pay or Cancel; returns the checkout row, or None if unknown."""
        with self.store.write() as db:
            if paid:
                db.execute(
                    "UPDATE sandbox_checkouts SET status = 'paid' WHERE id = ? AND status = 'open'",
                    [checkout_id],
                )
        row = self._row(checkout_id)
        if row and paid and self.on_paid:
            self.on_paid(row["attempt_id"], checkout_id)
        return row

    # -- the checkout page ---------------------------------------------------------------
    def routes(self) -> list[Route]:
        async def page(request: Request) -> Response:
            checkout_id = request.path_params["checkout_id"]
            if request.method == "POST":
                form = await request.form()
                paid = form.get("action") == "pay"
                row = await run_in_threadpool(self.settle, checkout_id, paid=paid)
                if row is None:
                    return _page("Checkout not found", "<h1>This checkout does not exist</h1>", 404)
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
            if row["status"] == "paid":
                back = row["success_url"].replace(SESSION_PLACEHOLDER, checkout_id)
                body = (
                    f"<h1>Already paid</h1><p>{e(row['description'])} is paid.</p>"
                    f"<p><a href='{e(back)}'>Continue</a></p>"
                )
            else:
                body = (
                    f"<h1>Pay {e(price)}</h1><p>{e(row['description'])}</p>"
                    f"<p class=muted>Receipt to {e(row['email'])}</p>"
                    "<form method=post><button name=action value=pay type=submit>"
                    f"Pay {e(price)}</button> <button name=action value=cancel type=submit "
                    "class=secondary>Cancel</button></form>"
                )
            return _page("Sandbox checkout", body)

        return [Route("/sandbox/checkout/{checkout_id}", page, methods=["GET", "POST"])]


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1a1a1a;
background:#f5f7fb}.banner{background:#fff3cd;border-bottom:2px solid #e0a800;padding:.6rem 1rem;
text-align:center;font-weight:600}main{max-width:480px;margin:2rem auto;background:#fff;
border-radius:12px;padding:1.5rem;box-shadow:0 2px 12px rgba(0,0,0,.08)}h1{font-size:1.4rem}
.muted{color:#555}button{margin-top:1rem;background:#635bff;color:#fff;border:0;
border-radius:8px;padding:.75rem 1.4rem;font-size:1rem;font-weight:600;cursor:pointer}
button.secondary{background:#fff;color:#333;border:1px solid #bbb}
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)} · payment sandbox</title><style>{STYLE}</style></head>"
        "<body><div class=banner role=note>Sandbox checkout — no card is charged and no "
        f"money moves.</div><main>{body}</main></body></html>",
        status_code=status,
    )
