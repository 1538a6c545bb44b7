"""The demo application's tables: customers, their orders, a calendar and a cache.

Each table exists so that one of the example offline scripts has real work to do: the cache
for ``recycle/clear_cache``, the calendar for ``recycle/flush_calendar``, order statuses for
``unrecycle/flush_order_data`` and customers for the temporary export script.

Timestamps are naive UTC (:func:`utcnow`), since SQLite keeps no time zone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

#: The order statuses the service writes. Anything else in the column is dirty data.
ORDER_STATUSES: tuple[str, ...] = ("pending", "paid", "shipped", "cancelled", "refunded")

#: Statuses whose amount does not count as revenue.
VOID_STATUSES: tuple[str, ...] = ("cancelled", "refunded")

#: Spellings that mean a known status once whitespace and case are gone.
STATUS_ALIASES = {"canceled": "cancelled"}


def normalise_status(status: str) -> str | None:
    """Return the canonical spelling of ``status``, or None when no rule repairs it."""
    clean = " ".join(status.split()).lower()
    clean = STATUS_ALIASES.get(clean, clean)
    return clean if clean in ORDER_STATUSES else None


def utcnow() -> dt.datetime:
    """Return the current time as naive UTC, the way every timestamp here is stored."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# mypy cannot see db.Model as a type: Flask-SQLAlchemy's documented ignore for it.
class Customer(db.Model):  # type: ignore[name-defined,misc]
    """Someone who places orders."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    orders: Mapped[list[Order]] = relationship(back_populates="customer")

    def __repr__(self) -> str:
        return f"<Customer {self.id} {self.email}>"


class Order(db.Model):  # type: ignore[name-defined,misc]
    """One order; ``status`` should be one of :data:`ORDER_STATUSES`, and mostly is."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    # Cents, never floats: money adds up exactly.
    amount_cents: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    customer: Mapped[Customer] = relationship(back_populates="orders")

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "amount_cents": self.amount_cents,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
        }

    def __repr__(self) -> str:
        return f"<Order {self.id} {self.status!r}>"


class CalendarDay(db.Model):  # type: ignore[name-defined,misc]
    """Per-day figures derived from orders; ``recycle/flush_calendar`` recomputes them."""

    __tablename__ = "calendar_days"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    order_count: Mapped[int] = mapped_column(default=0)
    revenue_cents: Mapped[int] = mapped_column(default=0)
    is_weekend: Mapped[bool] = mapped_column(default=False)
    # None until the first recompute: the row exists but its figures were never computed.
    computed_at: Mapped[dt.datetime | None]

    def __repr__(self) -> str:
        return f"<CalendarDay {self.day} orders={self.order_count}>"


class CacheEntry(db.Model):  # type: ignore[name-defined,misc]
    """A cached value; ``expires_at`` None means it never expires."""

    __tablename__ = "cache_entries"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(index=True)

    def __repr__(self) -> str:
        return f"<CacheEntry {self.key!r}>"
