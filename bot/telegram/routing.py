"""The rows of the routing tables in `bot.telegram.handlers`, and the one handler for buttons.

A button's data is decoded once, by `ButtonRouter`: the first `Button` row that takes its
action gets the press, with the action on `context.action`. A button no row of this release
reads (an older version's, or tampered with) is an `Expired` press, routed by type like any
other: the way PTB's `arbitrarycallbackdatabot.py` routes `InvalidCallbackData`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from types import UnionType
from typing import Any

from telegram import BotCommand, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.domain.actions import Action
from bot.i18n import Translator
from bot.telegram.callback_data import Scope, decode
from bot.telegram.context import BotApplication, BotContext
from bot.telegram.messenger import is_not_modified
from bot.text import strip_direction_marks

log = logging.getLogger(__name__)

Callback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Expired:
    """A button no row of this release reads: it is answered, never misread."""


@dataclass(frozen=True)
class Button:
    """Presses of these action types (in this scope only, when one is given) go to `callback`,
    which finds the decoded action on `context.action`."""

    kinds: type | UnionType
    callback: Callback
    scope: Scope | None = None

    def takes(self, scope: Scope | None, action: Action | Expired) -> bool:
        return isinstance(action, self.kinds) and self.scope in (None, scope)


@dataclass(frozen=True)
class Command:
    """A /command, and its line in the command menu (None: not in the menu, e.g. admins')."""

    name: str
    callback: Callback
    about: str | None = None  # marked with N_, translated for each language's menu
    billing: bool = False  # in the menu only with BILLING=stars


def command_menu(t: Translator, commands: Sequence[Command], billing_on: bool) -> list[BotCommand]:
    return [
        BotCommand(c.name, t._(c.about))
        for c in commands
        if c.about is not None and (billing_on or not c.billing)
    ]


class CommandRoute(CommandHandler[BotContext, None]):
    """A /command whose arguments (`context.args`) never carry direction marks: an id copied
    from an Arabic message comes as "⁨123⁩", and "/allow ⁨123⁩" means /allow 123. A mark
    standing alone between spaces is no argument."""

    def check_update(self, update: object) -> bool | tuple[list[str], Any] | None:
        found = super().check_update(update)
        if not isinstance(found, tuple):
            return found
        args, filtered = found
        return [a for a in map(strip_direction_marks, args) if a], filtered


@dataclass(frozen=True)
class _Routed:
    action: Action | Expired
    callback: Callback


class ButtonRouter(CallbackQueryHandler[BotContext, None]):
    """Every button press, decoded once and answered by the first row that takes it. PTB's
    own `callback` is never called: `handle_update` calls the row's."""

    def __init__(self, buttons: Sequence[Button]) -> None:
        super().__init__(_never_called)
        self.buttons = tuple(buttons)

    def check_update(self, update: object) -> _Routed | None:
        if not isinstance(update, Update) or update.callback_query is None:
            return None
        decoded = decode(update.callback_query.data)
        scope, action = decoded if decoded is not None else (None, Expired())
        row = self._row(scope, action) or self._row(None, Expired())
        return None if row is None else _Routed(action, row.callback)

    def _row(self, scope: Scope | None, action: Action | Expired) -> Button | None:
        return next((b for b in self.buttons if b.takes(scope, action)), None)

    def collect_additional_context(
        self,
        context: BotContext,
        update: Update,
        application: BotApplication,
        check_result: object,
    ) -> None:
        assert isinstance(check_result, _Routed)  # what check_update returned
        if not isinstance(check_result.action, Expired):
            context.action = check_result.action

    async def handle_update(
        self,
        update: Update,
        application: BotApplication,
        check_result: object,
        context: BotContext,
    ) -> None:
        assert isinstance(check_result, _Routed)
        self.collect_additional_context(context, update, application, check_result)
        try:
            await check_result.callback(update, context)
        except BadRequest as exc:
            if not is_not_modified(exc):
                raise
            # A double tap that draws what is shown already: whatever it did is done.
            log.info("button press: %s", exc.message)


async def _never_called(update: Update, context: BotContext) -> None:
    raise RuntimeError("ButtonRouter calls the callback of the row that took the press")
