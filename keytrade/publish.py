"""A cheaper publish for the hottest task (an order intent's submit), same message as Celery's.

`Task.apply_async` -> `Celery.send_task` cost 0.45-0.9 ms of CPU per order on the development
machine (bench/order_path.py), about three times what building the message and writing it to
the broker take: for every call, Celery merges the task's options twice, reads five settings
through its Django-settings view, takes a producer from the pool and gives it back (which
acquires a connection and re-binds the producer's channel each time) and builds an AsyncResult.

`PublishTask.apply_async` takes a shorter road for the plain case only (arguments, and
optionally their reprs or `declare`, sent now from outside a worker task): the same routing
(`amqp.router.route`), the same message builder (`amqp.create_task_message`) and the same
sender (`amqp.send_task_message`, with its publish signals and retry policy) as `send_task`,
published on a producer this thread keeps (created once per thread and process, outside the
pool, so it never holds one of the pool's slots). Anything else (eager mode, a countdown or
ETA, an expiry, links, a task id, a producer or other options, a parent worker task) goes
through Celery's own `apply_async` unchanged. tests/keytrade/test_publish.py checks that both
roads put the same message on the same queue, on the filesystem broker and on Redis.
"""

from __future__ import annotations

import contextlib
import os
import threading

from celery.contrib.django.task import DjangoTask
from kombu.utils.uuid import uuid

# The per-call options the short road understands (besides args and kwargs).
_PLAIN = frozenset({"argsrepr", "kwargsrepr", "declare"})
_local = threading.local()


def _producer(app):
    """This thread's producer for `app` (a new one in a forked child or for another app)."""
    held = getattr(_local, "held", None)
    pid = os.getpid()
    if held is None or held[0] != pid or held[1] is not app:
        producer = app.amqp.Producer(app.connection_for_write())
        _local.held = held = (pid, app, producer)
    return held[2]


def _forget() -> None:
    """Drop this thread's producer and close its connection (after a failed publish)."""
    held, _local.held = getattr(_local, "held", None), None
    if held is not None:
        with contextlib.suppress(Exception):  # cleanup must not hide the publish's own error
            held[2].connection.collect()


class PublishTask(DjangoTask):
    """A task whose plain `apply_async`/`delay` publishes without Celery's per-call overhead."""

    def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, **options):
        app = self._get_app()
        if (
            task_id is not None
            or producer is not None
            or not options.keys() <= _PLAIN
            or app.conf.task_always_eager
            or self.expires is not None
            or self._dump_pydantic_arguments is not None
            or app.current_worker_task is not None
        ):
            return super().apply_async(args, kwargs, task_id, producer, **options)
        try:
            return self._publish(app, _producer(app), args or (), kwargs or {}, options)
        except Exception:
            _forget()  # the next publish starts on a fresh connection
            raise

    def _publish(self, app, producer, args, kwargs, options):
        # What Task.apply_async and Celery.send_task do for this case, in their order.
        if self.soft_time_limit and self.time_limit and self.soft_time_limit > self.time_limit:
            raise ValueError("soft_time_limit must be less than or equal to time_limit")
        check_arguments = getattr(self, "__header__", None) if self.typing else None
        if check_arguments is not None:
            check_arguments(*args, **kwargs)
        shadow = self.shadow_name(args, kwargs, options)
        options = dict(self._get_exec_options(), **options)
        time_limit = options.pop("time_limit", None)
        soft_time_limit = options.pop("soft_time_limit", None)
        options.pop("expires", None)
        ignore_result = self.ignore_result
        amqp, name, task_id = app.amqp, self.name, uuid()
        options = amqp.router.route(options, name, args, kwargs, self)
        message = amqp.create_task_message(
            task_id,
            name,
            args,
            kwargs,
            reply_to=app.thread_oid,
            time_limit=time_limit,
            soft_time_limit=soft_time_limit,
            create_sent_event=app.conf.task_send_sent_event,
            shadow=shadow,
            ignore_result=ignore_result,
            **options,
        )
        for stamp in options.pop("stamped_headers", None) or []:
            options.pop(stamp)
        with producer.connection._reraise_as_library_errors():
            if not ignore_result:
                self.backend.on_task_call(producer, task_id)
            amqp.send_task_message(producer, name, message, **options)
        result = self.AsyncResult(task_id)
        result.ignored = ignore_result
        return result
