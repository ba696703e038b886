from celery import shared_task

from paper.services.resting import orders_evaluate_all


@shared_task(soft_time_limit=50, time_limit=60)
def paper_evaluate_resting_orders() -> int:
    """Fill resting paper orders the simulated price has traded through (every account)."""
    return orders_evaluate_all()
