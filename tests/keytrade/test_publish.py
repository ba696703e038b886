"""The order task's short publish road sends the message Celery's apply_async would send.

Both roads publish onto a real broker (the filesystem transport keytrade uses without Redis,
and Redis when REDIS_URL is set), and the message is read back from the default queue.
"""

import os
import threading

import pytest
from celery import Task
from celery.signals import before_task_publish
from kombu import Connection

from keytrade import publish
from keytrade.celery import app
from trading.tasks import order_submit_task

QUEUE = app.conf.task_default_queue
# Different on every message (ids) or per process (the node name in "origin").
VARYING_HEADERS = {"id", "root_id"}
VARYING_PROPERTIES = {"correlation_id", "delivery_tag", "delivery_info", "body_encoding"}


@pytest.fixture
def filesystem_broker(tmp_path):
    folder = tmp_path / "broker"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    with Connection("filesystem://localhost//", transport_options=options) as conn:
        yield conn


@pytest.fixture
def redis_broker(redis_url):
    with Connection(redis_url) as conn:
        conn.default_channel.queue_purge(QUEUE)
        yield conn
        conn.default_channel.queue_purge(QUEUE)


def read_one(conn):
    message = conn.default_channel.basic_get(QUEUE, no_ack=True)
    assert message is not None, f"nothing on queue {QUEUE!r}"
    return message


def comparable(message):
    headers = {k: v for k, v in message.headers.items() if k not in VARYING_HEADERS}
    properties = {k: v for k, v in message.properties.items() if k not in VARYING_PROPERTIES}
    info = message.delivery_info
    return {
        "headers": headers,
        "properties": properties,
        "routing": (info.get("exchange"), info.get("routing_key")),
        "content": (message.content_type, message.content_encoding),
        "body": message.decode(),
    }


def both_roads(conn, monkeypatch, intent_id: str):
    """Publish one message through Celery's apply_async and one through the short road."""
    options = {"argsrepr": repr((intent_id,)), "kwargsrepr": "{}", "declare": []}
    with conn.Producer() as producer:
        Task.apply_async(order_submit_task, (intent_id,), {}, producer=producer, **options)
        celery_message = read_one(conn)
        monkeypatch.setattr(publish, "_producer", lambda _app: producer)
        result = order_submit_task.apply_async((intent_id,), {}, **options)
        short_message = read_one(conn)
    return celery_message, short_message, result


@pytest.mark.parametrize("broker", ["filesystem_broker", "redis_broker"])
def test_the_short_road_puts_celerys_own_message_on_the_same_queue(broker, request, monkeypatch):
    conn = request.getfixturevalue(broker)
    intent_id = "0b9e8f4c-2d55-4c1e-9a52-6c8f0f3f2a11"
    celery_message, short_message, result = both_roads(conn, monkeypatch, intent_id)

    assert comparable(short_message) == comparable(celery_message)
    headers = short_message.headers
    assert headers["task"] == "trading.tasks.order_submit_task"
    assert headers["id"] == headers["root_id"] == short_message.properties["correlation_id"]
    assert headers["id"] != celery_message.headers["id"]
    assert headers["timelimit"] == [45, 30]  # the task's own limits travel with it
    assert short_message.decode()[0] == [intent_id]
    assert short_message.delivery_info["routing_key"] == QUEUE
    assert result.id == headers["id"] and result.ignored is True


def test_the_publish_signals_see_the_short_road(filesystem_broker, monkeypatch):
    seen = []

    def collect(sender=None, headers=None, routing_key=None, **kwargs):
        seen.append((sender, headers["argsrepr"], routing_key))

    before_task_publish.connect(collect, weak=False)
    try:
        both_roads(filesystem_broker, monkeypatch, "abc")
    finally:
        before_task_publish.disconnect(collect)
    assert seen == [("trading.tasks.order_submit_task", "('abc',)", QUEUE)] * 2


@pytest.mark.parametrize(
    "options",
    [{"countdown": 5}, {"task_id": "fixed"}, {"expires": 30}, {"queue": "elsewhere"}],
)
def test_anything_but_a_plain_publish_goes_through_celery(options, monkeypatch):
    calls = []
    monkeypatch.setattr(Task, "apply_async", lambda self, *a, **kw: calls.append(kw))
    monkeypatch.setattr(publish.PublishTask, "_publish", lambda *a: pytest.fail("short road"))
    order_submit_task.apply_async(("abc",), **options)
    assert len(calls) == 1


def test_eager_mode_runs_the_task_through_celery(monkeypatch, eager_tasks):
    ran = []
    monkeypatch.setattr(Task, "apply", lambda self, args=None, *a, **kw: ran.append(args))
    monkeypatch.setattr(publish.PublishTask, "_publish", lambda *a: pytest.fail("short road"))
    order_submit_task.delay("abc")
    assert ran == [["abc"]]


def test_each_thread_and_each_forked_process_keeps_its_own_producer(monkeypatch):
    monkeypatch.setattr(publish, "_local", threading.local())
    first = publish._producer(app)
    assert publish._producer(app) is first
    other = []
    thread = threading.Thread(target=lambda: other.append(publish._producer(app)))
    thread.start()
    thread.join()
    assert other[0] is not first
    monkeypatch.setattr(os, "getpid", lambda: -1)  # as in a child after fork()
    assert publish._producer(app) is not first


def test_a_failed_publish_drops_the_threads_producer(monkeypatch):
    monkeypatch.setattr(publish, "_local", threading.local())
    kept = publish._producer(app)

    def broken(*args, **kwargs):
        raise ConnectionError("the broker went away")

    monkeypatch.setattr(app.amqp, "send_task_message", broken)
    with pytest.raises(Exception, match="went away"):
        order_submit_task.delay("abc")
    assert publish._producer(app) is not kept


def test_inside_a_worker_task_celery_links_parent_and_child(monkeypatch):
    calls = []
    monkeypatch.setattr(type(app), "current_worker_task", property(lambda self: order_submit_task))
    monkeypatch.setattr(Task, "apply_async", lambda self, *a, **kw: calls.append(a))
    monkeypatch.setattr(publish.PublishTask, "_publish", lambda *a: pytest.fail("short road"))
    order_submit_task.delay("abc")
    assert calls == [(("abc",), {}, None, None)]  # args, kwargs, task_id, producer
