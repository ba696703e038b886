"""Client order ids are deterministic, short and safe for every venue's charset."""

import re
import uuid

from hypothesis import given
from hypothesis import strategies as st

from trading.models import client_order_id_for


@given(st.uuids())
def test_same_intent_always_gets_the_same_id(intent_id):
    assert client_order_id_for(intent_id) == client_order_id_for(uuid.UUID(str(intent_id)))


@given(st.uuids())
def test_ids_fit_binance_rules(intent_id):
    coid = client_order_id_for(intent_id)
    assert len(coid) <= 32
    assert re.fullmatch(r"[A-Za-z0-9_-]+", coid)
    assert coid.startswith("kt")


def test_different_intents_get_different_ids():
    ids = {client_order_id_for(uuid.uuid4()) for _ in range(2000)}
    assert len(ids) == 2000
