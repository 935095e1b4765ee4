"""Admin commands: /stats, /allow <id>, /deny <id>."""

from __future__ import annotations

from collections import Counter

from telegram import Update

from bot.i18n import Translator
from bot.telegram.context import BotContext
from bot.telegram.handlers.common import incoming, reply
from bot.text import escape, is_number


async def admin_translator(update: Update, context: BotContext) -> Translator | None:
    """The translator for an admin, or None (after saying so) for anyone else."""
    t = context.t
    sender = incoming(update)
    if not context.services.admin.is_admin(sender.user.id):
        await reply(sender.message, t._("This command is for the bot's admins."))
        return None
    return t


async def stats_command(update: Update, context: BotContext) -> None:
    """Users, tasks by state, seconds generated, failures and an estimate of the spend."""
    t = await admin_translator(update, context)
    if t is None:
        return
    stats = await context.services.admin.stats()
    prices = context.services.prices.current

    lines = [
        t._("📊 <b>Statistics</b>"),
        t._("Users: {users}", users=stats.users),
        t._("Tasks today: {counts}", counts=escape(counts(stats.today))),
        t._("Tasks in total: {counts}", counts=escape(counts(stats.total))),
        t._(
            "Seconds of video delivered: {counts}",
            counts=escape(counts(stats.seconds_by_resolution)),
        ),
        t._("Failures by reason: {counts}", counts=escape(counts(stats.failures))),
        t._("Estimated spend: {amount}", amount=prices.format(stats.spend(prices), t.locale)),
        *await ledger_lines(t, context),
    ]
    await reply(incoming(update).message, "\n".join(lines))


async def ledger_lines(t: Translator, context: BotContext) -> list[str]:
    """With BILLING=stars: Stars received, credits spent, returned and outstanding."""
    billing = context.services.billing
    if billing is None:
        return []
    totals = await billing.totals()
    return [
        t._(
            "Stars received: {received} (refunded: {refunded})",
            received=totals.stars_received,
            refunded=totals.stars_refunded,
        ),
        t._(
            "Credits spent: {spent}, returned: {returned}, outstanding: {outstanding}",
            spent=totals.credits_spent,
            returned=totals.credits_returned,
            outstanding=totals.outstanding,
        ),
    ]


def counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counter.items())) or "0"


async def allow_command(update: Update, context: BotContext) -> None:
    """Add a user to the allowlist (persisted); with no allowlist yet, this starts one."""
    await _change_access(update, context, allow=True)


async def deny_command(update: Update, context: BotContext) -> None:
    """Refuse a user from now on (persisted)."""
    await _change_access(update, context, allow=False)


async def _change_access(update: Update, context: BotContext, *, allow: bool) -> None:
    t = await admin_translator(update, context)
    if t is None:
        return
    args = context.args or []
    message = incoming(update).message
    if len(args) != 1 or not is_number(args[0].lstrip("-")):
        await reply(
            message,
            t._("Usage: <code>/allow 123456789</code> or <code>/deny 123456789</code>"),
        )
        return
    user_id = int(args[0])
    lists = await context.services.admin.change_access(user_id, allow=allow)
    if allow:
        text = t._("✅ User {user_id} may use the bot.", user_id=user_id)
        if not lists.allowed and not context.services.config.allowed_user_ids:
            text += "\n" + t._("The allowlist is now active: only listed users may use the bot.")
    else:
        text = t._("⛔ User {user_id} may no longer use the bot.", user_id=user_id)
    await reply(message, text)
