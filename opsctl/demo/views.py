"""The demo service's HTTP side: just enough routes to be recognisably a Flask service."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import func, select

from .extensions import db
from .models import Customer, Order

bp = Blueprint("orders", __name__)


@bp.get("/orders/<int:order_id>")
def get_order(order_id: int) -> dict[str, Any]:
    """One order as JSON; 404 if there is no such order."""
    order = db.get_or_404(Order, order_id)
    result: dict[str, Any] = order.to_dict()
    return result


@bp.get("/customers/<int:customer_id>")
def get_customer(customer_id: int) -> dict[str, Any]:
    """One customer with their order count and total, as JSON; 404 if unknown."""
    customer = db.get_or_404(Customer, customer_id)
    count, total = db.session.execute(
        select(func.count(Order.id), func.coalesce(func.sum(Order.amount_cents), 0))
        .where(Order.customer_id == customer.id)
    ).one()
    return {
        "id": customer.id,
        "name": customer.name,
        "email": customer.email,
        "created_at": customer.created_at.isoformat(),
        "orders": count,
        "total_cents": total,
    }
