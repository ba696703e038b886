"""Table rows rendered in Python (fills, orders, balances, totals) read as a template writes them.

trading_tables builds the busiest tables' rows without the template engine (for speed); each
is compared here with the same row written as an ordinary Django template: escaping, dates in
the current time zone, numbers, the Buy/Sell label, and the trader's Amend/Cancel links.
"""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.template import engines
from django.utils import timezone

from trading.selectors_dashboard import BalanceRow, Decimals
from trading.templatetags.trading_tables import balance_rows, fill_rows, order_rows, total_rows

FILL_ROW = (
    '{% load trading_numbers %}<tr id="fill-{{ f.pk }}"><td>{{ f.executed_at|date:"Y-m-d H:i:s"'
    " }}</td><td>{{ f.key.label }}</td><td>{{ f.symbol }}</td><td>{{ f.side|side_label }}</td>"
    '<td class="num">{{ f.price|fixed:f.dec.price }}</td>'
    '<td class="num">{{ f.amount|fixed:f.dec.amount }}</td>'
    '<td class="num">{{ f.cost|fixed:f.dec.price }}</td>'
    '<td class="num">{% if f.fee is None %}—{% else %}{{ f.fee|fixed:8 }} {{ f.fee_currency }}'
    "{% endif %}</td></tr>"
)
ORDER_ROW = (
    '{% load trading_numbers %}<tr id="order-{{ o.pk }}"><td>{{ o.placed_at|date:"Y-m-d H:i:s"'
    '|default:"—" }}</td><td>{{ o.key.label }}</td><td><a href="{% url "trading:market_pick" %}'
    '{{ o.key_id }}/{{ o.symbol|symbol_slug }}/">{{ o.symbol }}</a></td>'
    "<td>{{ o.side|side_label }}</td><td>{{ o.type }}</td>"
    '<td class="num">{{ o.price|fixed:o.dec.price }}</td>'
    '<td class="num">{{ o.amount|fixed:o.dec.amount }}</td>'
    '<td class="num">{{ o.filled|fixed:o.dec.amount }}</td>'
    '{% if can_trade %}<td class="actions">{% if o.type == "limit" %}<a href="'
    '{% url "trading:orders" %}{{ o.pk }}/amend/" class="small outline" role="button">Amend</a> '
    '{% endif %}<a href="{% url "trading:orders" %}{{ o.pk }}/cancel/" class="small secondary" '
    'role="button">Cancel…</a></td>{% endif %}</tr>'
)
HOSTILE = '<b>Tom & "Jerry\'s"</b>'


def by_template(source: str, rows, **context) -> str:
    template = engines["django"].from_string(source)
    name = "f" if "fill-" in source else "o"
    return "\n".join(template.render({name: row, **context}) for row in rows)


def key(label: str):
    return SimpleNamespace(id=uuid.uuid4(), label=label, exchange="paper")


def fills():
    k1, k2 = key(HOSTILE), key("Main")
    return [
        SimpleNamespace(
            pk=n + 1,
            key=k,
            key_id=k.id,
            executed_at=datetime(2026, 3, 1 + n, 23, 59, 59, 123456, tzinfo=UTC),
            symbol=symbol,
            side=side,
            price=Decimal("20123.455"),
            amount=Decimal("0.010000000000000000"),
            cost=Decimal("201.23455"),
            fee=fee,
            fee_currency="<BNB>",
            dec=Decimals(price=2, amount=8),
        )
        for n, (k, symbol, side, fee) in enumerate(
            [
                (k1, "BTC/USDT", "buy", Decimal("0.0002")),
                (k2, "ETH/<BTC>", "sell", None),
                (k1, "BTC/USDT", "odd<side>", Decimal("-1.5E-9")),
            ]
        )
    ]


def orders():
    k1, k2 = key(HOSTILE), key("Main")
    return [
        SimpleNamespace(
            pk=uuid.uuid4(),
            key=k,
            key_id=k.id,
            placed_at=placed,
            symbol=symbol,
            side="buy" if n % 2 else "sell",
            type=kind,
            price=price,
            amount=Decimal("1.23456789123"),
            filled=Decimal("0E-18"),
            dec=Decimals(price=4, amount=6),
        )
        for n, (k, symbol, kind, price, placed) in enumerate(
            [
                (k1, "BTC/USDT", "limit", Decimal("190.5"), datetime(2026, 1, 2, 3, 4, 5, 9, UTC)),
                (k2, "ETH/BTC", "market", None, None),
                (k1, "SOL/<USDT>", "stop<limit>", Decimal("150"), datetime(999, 1, 2, tzinfo=UTC)),
            ]
        )
    ]  # fmt: skip


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_fill_rows_read_as_the_template_writes_them(zone):
    rows = fills()
    with timezone.override(zone):
        assert str(fill_rows(rows)) == by_template(FILL_ROW, rows)


@pytest.mark.parametrize("can_trade", [True, False])
@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_order_rows_read_as_the_template_writes_them(zone, can_trade):
    rows = orders()
    with timezone.override(zone):
        expected = by_template(ORDER_ROW, rows, can_trade=can_trade)
        assert str(order_rows(rows, can_trade)) == expected
    assert "&lt;b&gt;Tom &amp; &quot;Jerry&#x27;s&quot;&lt;/b&gt;" in expected


def test_no_fills_reads_as_an_empty_table_row():
    assert "No fills." in fill_rows([])


BALANCE_ROWS = (
    "{% load trading_numbers %}{% for row in rows %}\n      <tr>\n"
    "        <td>{{ row.balance.asset }}</td>\n"
    '        <td class="num">{{ row.balance.free|fixed:row.decimals }}</td>\n'
    '        <td class="num">{{ row.balance.used|fixed:row.decimals }}</td>\n'
    '        <td class="num">{{ row.balance.total|fixed:row.decimals }}</td>\n'
    '        <td class="num">{% if row.price is None %}<span class="muted">no price</span>'
    "{% else %}{{ row.price|fixed:2 }}{% endif %}</td>\n"
    '        <td class="num">{{ row.value|fixed:2 }}</td>\n'
    "      </tr>\n    {% endfor %}"
)


def test_balance_rows_read_as_the_template_wrote_them():
    def balance(asset, total):
        return SimpleNamespace(
            asset=asset, free=total - Decimal("0.25"), used=Decimal("0.25"), total=total
        )

    rows = [
        BalanceRow(balance("USDT", Decimal("10000.005")), Decimal(1), Decimal("10000.005"), 2),
        BalanceRow(balance("BTC", Decimal("0.5")), Decimal("50000.123"), Decimal("25000.06"), 8),
        BalanceRow(balance("<X&Y>", Decimal("12")), None, None, 8),
    ]
    template = engines["django"].from_string(BALANCE_ROWS)
    expected = template.render({"rows": rows})
    assert str(balance_rows(rows)) == expected
    assert "&lt;X&amp;Y&gt;" in expected and "no price" in expected
    assert balance_rows([]) == ""


TOTAL_ROWS = (
    "{% load trading_numbers %}{% for row in rows %}\n"
    "      <tr><td>{{ row.symbol }}</td><td>{{ row.side|side_label }}</td>"
    '<td class="num">{{ row.count }}</td><td class="num">{{ row.amount|fixed:8 }}</td>'
    '<td class="num">{{ row.cost|fixed:2 }}</td></tr>\n'
    '    {% empty %}<tr><td colspan="5" class="muted">Nothing to total.</td></tr>\n'
    "    {% endfor %}"
)


def test_total_rows_read_as_the_template_wrote_them():
    rows = [
        {"symbol": "BTC/USDT", "side": "buy", "amount": Decimal("1.5"), "cost": Decimal("3E+4"),
         "count": 1234567},
        {"symbol": "<ETH>&BTC", "side": "sell", "amount": Decimal("0.000000015"),
         "cost": Decimal("-0.005"), "count": 0},
        {"symbol": "SOL/USDT", "side": "odd", "amount": None, "cost": None, "count": 3},
    ]  # fmt: skip
    template = engines["django"].from_string(TOTAL_ROWS)
    for case in (rows, []):
        assert str(total_rows(case)) == template.render({"rows": case})
    assert "&lt;ETH&gt;&amp;BTC" in total_rows(rows)
