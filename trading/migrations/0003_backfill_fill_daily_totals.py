"""Build the daily fill totals for fills recorded before the totals existed."""

import datetime as dt

from django.db import migrations
from django.db.models import Count, DecimalField, Sum, Value
from django.db.models.functions import Coalesce, TruncDate


def backfill(apps, schema_editor):
    Fill = apps.get_model("trading", "Fill")
    FillDailyTotal = apps.get_model("trading", "FillDailyTotal")
    zero = Value(0, output_field=DecimalField(max_digits=36, decimal_places=18))
    grouped = (
        Fill.objects.annotate(day=TruncDate("executed_at", tzinfo=dt.UTC))
        .values("key_id", "day", "symbol", "side", "fee_currency")
        .annotate(n=Count("id"), a=Sum("amount"), c=Sum("cost"), f=Coalesce(Sum("fee"), zero))
        .order_by()
    )
    FillDailyTotal.objects.bulk_create(
        (
            FillDailyTotal(key_id=g["key_id"], day=g["day"], symbol=g["symbol"], side=g["side"],
                           fee_currency=g["fee_currency"], count=g["n"], amount=g["a"],
                           cost=g["c"], fee=g["f"])
            for g in grouped.iterator()
        ),
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [("trading", "0002_market_data_for_pages")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
