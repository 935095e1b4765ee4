"""/groupsettings as the group's admins see it: the rules in whole sentences, and one row of
buttons per rule, the chosen one marked (issue 23)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain.actions import SetGroupRule
from bot.domain.groups import ALLOWANCES, Delivery, GroupSettings, WhoGenerates
from bot.domain.settings import DURATION_PRESETS, RESOLUTIONS
from bot.i18n import Translator
from bot.telegram.callback_data import Scope, encode
from bot.telegram.keyboards import marked


def group_text(t: Translator, group: GroupSettings, wallet_balance: int | None) -> str:
    """`wallet_balance`: the group's credits with BILLING=stars; None without billing."""
    lines = [
        t._("🏘 <b>This group's video settings</b> (only its admins can change them)"),
        "",
        _who_line(t, group),
        _allowance_line(t, group.allowance),
        _defaults_line(t, group),
        t._("📬 Finished videos are posted in the group.")
        if group.delivery is Delivery.GROUP
        else t._("📬 Finished videos are sent to each member in private."),
    ]
    if wallet_balance is not None:
        lines.append(_wallet_line(t, group.wallet, wallet_balance))
    lines += ["", t._("To allow a member, reply to one of their messages with /groupallow.")]
    return "\n".join(lines)


def _who_line(t: Translator, group: GroupSettings) -> str:
    if group.who is WhoGenerates.EVERYONE:
        return t._("👥 Every member can make videos here.")
    if group.who is WhoGenerates.ADMINS:
        return t._("👥 Only the group's admins can make videos here.")
    return t.ngettext(
        "👥 Admins and {n} allowed member can make videos here.",
        "👥 Admins and {n} allowed members can make videos here.",
        len(group.allowed),
    )


def _allowance_line(t: Translator, allowance: int) -> str:
    if not allowance:
        return t._("⏳ No daily limit per member.")
    return t.ngettext(
        "⏳ Each member can make {n} second of video a day here.",
        "⏳ Each member can make {n} seconds of video a day here.",
        allowance,
    )


def _defaults_line(t: Translator, group: GroupSettings) -> str:
    own = t._("each member's own")
    resolution = group.resolution or own
    duration = t._("{n} s", n=group.duration) if group.duration else own
    audio = own if group.audio is None else (t._("on") if group.audio else t._("off"))
    return t._(
        "🎬 New cards here: resolution {resolution} · duration {duration} · audio {audio}",
        resolution=resolution,
        duration=duration,
        audio=audio,
    )


def _wallet_line(t: Translator, wallet: bool, balance: int) -> str:
    if wallet:
        return t.ngettext(
            "💰 The group's wallet pays members' videos within their daily limit: {n} "
            "credit left. Any member can top it up with /buy here.",
            "💰 The group's wallet pays members' videos within their daily limit: {n} "
            "credits left. Any member can top it up with /buy here.",
            balance,
        )
    return t.ngettext(
        "💰 The group's wallet is off ({n} credit in it): members pay with their own credits.",
        "💰 The group's wallet is off ({n} credits in it): members pay with their own credits.",
        balance,
    )


def group_keyboard(t: Translator, group: GroupSettings, billing_on: bool) -> InlineKeyboardMarkup:
    def choice(label: str, rule: str, value: str, chosen: bool) -> InlineKeyboardButton:
        data = encode(Scope.GROUP, SetGroupRule(rule, value))
        return InlineKeyboardButton(marked(t, label, chosen), callback_data=data)

    own = t._("Own")
    rows = [
        [
            choice(t._("Everyone"), "who", "everyone", group.who is WhoGenerates.EVERYONE),
            choice(t._("Admins"), "who", "admins", group.who is WhoGenerates.ADMINS),
            choice(t._("Allowed"), "who", "allowed", group.who is WhoGenerates.ALLOWED),
        ],
        # Three to a row: a marked "✓ 300 s" is as wide as a phone gives five of them.
        *(
            [
                choice(_allowance_label(t, n), "allowance", str(n), group.allowance == n)
                for n in ALLOWANCES[start : start + 3]
            ]
            for start in range(0, len(ALLOWANCES), 3)
        ),
        [
            *(choice(r, "resolution", r, group.resolution == r) for r in RESOLUTIONS),
            choice(own, "resolution", "-", group.resolution is None),
        ],
        [
            *(
                choice(t._("{n} s", n=n), "duration", str(n), group.duration == n)
                for n in DURATION_PRESETS
            ),
            choice(own, "duration", "-", group.duration is None),
        ],
        [
            choice("🔊", "audio", "1", group.audio is True),
            choice("🔇", "audio", "0", group.audio is False),
            choice(own, "audio", "-", group.audio is None),
        ],
        [
            choice(t._("📬 In the group"), "delivery", "group", group.delivery is Delivery.GROUP),
            choice(
                t._("📬 In private"), "delivery", "private", group.delivery is Delivery.PRIVATE
            ),
        ],
    ]
    if billing_on:
        rows.append(
            [
                choice(t._("💰 Wallet on"), "wallet", "1", group.wallet),
                choice(t._("💰 Wallet off"), "wallet", "0", not group.wallet),
            ]
        )
    return InlineKeyboardMarkup(rows)


def _allowance_label(t: Translator, seconds: int) -> str:
    """⏳ like the allowance's line above: told apart from the default duration's row."""
    return "⏳ " + (t._("{n} s", n=seconds) if seconds else "∞")
