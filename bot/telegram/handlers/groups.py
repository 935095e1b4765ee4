"""For communities (issue 23): /groupsettings and its card, /groupallow and /groupstats, for a
group's Telegram admins (getChatMember, kept briefly), never the bot's operators' list."""

from __future__ import annotations

from telegram import Message, Update
from telegram.error import TelegramError

from bot.domain.actions import SetGroupRule
from bot.domain.groups import GroupSettings, GroupWeek, WhoGenerates, group_week, in_group
from bot.i18n import Translator
from bot.lifecycle.groups import Groups
from bot.telegram.context import BotContext
from bot.telegram.group_view import group_keyboard, group_text
from bot.telegram.handlers.card import expired_button
from bot.telegram.handlers.common import Incoming, answer, incoming, pressed, reply
from bot.text import escape, truncate


async def _admin_in_group(sender: Incoming, context: BotContext) -> Groups | None:
    """The group's rules when the sender is one of its admins; else they are told why not."""
    t, groups = context.t, context.services.generation.groups
    if groups is None or not in_group(sender.chat.id):
        await reply(sender.message, t._("Use this command in a group, as one of its admins."))
        return None
    if not await groups.is_admin(sender.chat.id, sender.user.id):
        await reply(sender.message, t._("Only the group's admins can do this."))
        return None
    return groups


async def groupsettings_command(update: Update, context: BotContext) -> None:
    sender = incoming(update)
    groups = await _admin_in_group(sender, context)
    if groups is None:
        return
    group = await groups.settings(sender.chat.id)
    t = context.t
    await sender.message.reply_text(
        group_text(t, group, await _wallet(context, group)),
        reply_markup=group_keyboard(t, group, context.services.billing is not None),
        do_quote=True,
    )


async def group_button(update: Update, context: BotContext) -> None:
    """A press on the group card: only an admin's changes anything (checked at each press)."""
    query, action, t = pressed(update), context.action, context.t
    groups, card = context.services.generation.groups, query.message
    if not isinstance(action, SetGroupRule) or groups is None or not isinstance(card, Message):
        await expired_button(update, context)
        return
    if not await groups.is_admin(card.chat.id, query.from_user.id):
        text = t._("Only the group's admins can change these settings.")
        await answer(query, text, show_alert=True)
        return
    rule, value = action.rule, action.value
    before = await groups.settings(card.chat.id)
    if before.with_rule(rule, value) is None:  # not a value the card offers
        await expired_button(update, context)
        return
    await answer(query)
    # Applied to the rules as they are then: another admin's press meanwhile is kept.
    changed = await groups.change(
        card.chat.id, lambda group: group.with_rule(rule, value) or group
    )
    if changed == before:
        return
    await card.edit_text(
        group_text(t, changed, await _wallet(context, changed)),
        reply_markup=group_keyboard(t, changed, context.services.billing is not None),
    )


async def _wallet(context: BotContext, group: GroupSettings) -> int | None:
    billing = context.services.billing
    return None if billing is None else (await billing.account(group.chat_id)).balance


async def groupallow_command(update: Update, context: BotContext) -> None:
    """An admin's reply to a member's message: that member may generate here (again: may
    not any more)."""
    sender = incoming(update)
    groups = await _admin_in_group(sender, context)
    if groups is None:
        return
    t = context.t
    target = sender.message.reply_to_message
    member = target.from_user if target is not None else None
    if member is None or member.is_bot:
        await reply(sender.message, t._("Reply to a message of the member you want to allow."))
        return
    member_id = member.id
    group = await groups.change(
        sender.chat.id, lambda group: group.allowing(member_id, member_id not in group.allowed)
    )
    allowed = member_id in group.allowed
    name = escape(member.full_name)
    if allowed:
        text = t._("✅ {name} may make videos here.", name=name)
    else:
        text = t._("🚫 {name} is no longer on the list of allowed members.", name=name)
    if group.who is not WhoGenerates.ALLOWED:
        text += "\n" + t._("The list counts once /groupsettings says “Allowed”.")
    await reply(sender.message, text)


async def groupstats_command(update: Update, context: BotContext) -> None:
    """This week in the group, for its admins: videos, seconds and the wallet's spend by
    member, and the authors of the most made prompts. A member who used /forget has no
    videos left to count."""
    sender = incoming(update)
    groups = await _admin_in_group(sender, context)
    if groups is None:
        return
    week = group_week(await groups.week(sender.chat.id), await _spent(context, sender.chat.id))
    names = await _names(context, sender.chat.id, [user for user, _ in week.members])
    await reply(sender.message, _stats_text(context.t, week, names))


async def _spent(context: BotContext, chat_id: int) -> dict[str, int]:
    billing = context.services.billing
    return {} if billing is None else await billing.spent_by_task(chat_id)


async def _names(context: BotContext, chat_id: int, user_ids: list[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for user_id in user_ids[:20]:  # the first twenty by name, the rest by id
        try:
            names[user_id] = (await context.bot.get_chat_member(chat_id, user_id)).user.full_name
        except TelegramError:
            continue
    return names


def _stats_text(t: Translator, week: GroupWeek, names: dict[int, str]) -> str:
    if not week.members:
        return t._("📊 No videos were made in this group in the last 7 days.")
    lines = [t._("📊 <b>This group, the last 7 days</b>"), ""]
    for user_id, member in week.members:
        line = t.ngettext(
            "{name}: {n} video, {seconds} s",
            "{name}: {n} videos, {seconds} s",
            member.videos,
            name=escape(names.get(user_id, str(user_id))),
            seconds=member.seconds,
        )
        if member.credits:
            line += " · " + t.ngettext(
                "{n} credit from the wallet", "{n} credits from the wallet", member.credits
            )
        lines.append(line)
    if week.prompts:
        lines += ["", t._("Most made prompts:")]
        for prompt, user_id, count in week.prompts:
            lines.append(
                t.ngettext(
                    "“{prompt}” by {name} ({n} video)",
                    "“{prompt}” by {name} ({n} videos)",
                    count,
                    prompt=escape(truncate(prompt, 40)),
                    name=escape(names.get(user_id, str(user_id))),
                )
            )
    return "\n".join(lines)
