"""Periodic jobs besides reminders: the Telegram bot's updates and pruning the job queue's history."""

from __future__ import annotations

import logging

from app.core.telegram import TelegramBot, TelegramError
from resolvers.deliveries.retention import Pruned, prune_job_history
from resolvers.deliveries.telegram_links import receive_updates
from resolvers.unit_of_work import Services, UnitOfWork

logger = logging.getLogger("mockinterview.jobs")
BATCHES_PER_RUN = 10  # at most this many getUpdates batches per tick; the next tick goes on


async def receive_telegram_updates(services: Services, bot: TelegramBot) -> int:
    """Apply the bot's pending updates (`/start CODE` links a chat); how many were applied."""
    total = 0
    for _ in range(BATCHES_PER_RUN):
        uow = UnitOfWork.open(services)
        try:
            applied = await receive_updates(uow, bot)
        except TelegramError as exc:
            logger.warning("telegram getUpdates failed: %s", exc)
            return total
        finally:
            await uow.close()
        total += applied
        if applied == 0:
            break
    return total


async def prune_job_history_once(services: Services) -> Pruned:
    uow = UnitOfWork.open(services)
    try:
        pruned = await prune_job_history(uow)
    finally:
        await uow.close()
    if pruned.log or pruned.statistics:
        logger.info("pruned job history: %d log rows, %d statistics rows", pruned.log, pruned.statistics)
    return pruned
