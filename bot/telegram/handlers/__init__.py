"""Telegram glue: every handler is registered here, in the order that decides who answers."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    InlineQueryHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    TypeHandler,
    filters,
)

from bot.domain.actions import (
    BuyPack,
    Cancel,
    CardEdit,
    ChooseLanguage,
    ClipAction,
    CloseDefaults,
    ConfirmForget,
    Generate,
    HistoryAction,
    Noop,
    SetGroupRule,
    SettingAction,
    VideoAction,
)
from bot.domain.soundtrack import AUDIO_LINK
from bot.i18n import N_
from bot.telegram.callback_data import Scope
from bot.telegram.context import BotApplication
from bot.telegram.filters import ADDRESSED_TO_BOT
from bot.telegram.handlers.access import check_access
from bot.telegram.handlers.admin import allow_command, deny_command, stats_command
from bot.telegram.handlers.advanced import (
    negative_command,
    receive_audio,
    receive_audio_link,
    receive_voice,
    seed_command,
)
from bot.telegram.handlers.billing import balance_command, grant_command, paysupport_command
from bot.telegram.handlers.card import (
    cancel_card,
    edit_card,
    expired_button,
    generate,
    press_label,
)
from bot.telegram.handlers.clips import clip_button
from bot.telegram.handlers.defaults import change_default, choose_language, close_defaults
from bot.telegram.handlers.errors import log_error
from bot.telegram.handlers.groups import (
    group_button,
    groupallow_command,
    groupsettings_command,
    groupstats_command,
)
from bot.telegram.handlers.history import history_button, history_command
from bot.telegram.handlers.inline import share_videos
from bot.telegram.handlers.photo import edit_caption, receive_image, video_command
from bot.telegram.handlers.privacy import forget_button, forget_command, privacy_command
from bot.telegram.handlers.replies import reply_to_card, text_without_photo, unusable_message
from bot.telegram.handlers.start import (
    cancel_command,
    help_command,
    language_command,
    settings_command,
    start_command,
)
from bot.telegram.handlers.video import video_button
from bot.telegram.payments.handlers import (
    buy_button,
    buy_command,
    pre_checkout,
    refund_command,
    refunded_payment,
    successful_payment,
)
from bot.telegram.routing import Button, ButtonRouter, Command, CommandRoute, Expired

# Every command, in the order of the command menu; `about` is its line there.
COMMANDS = (
    Command("start", start_command, N_("Start and see what the bot does")),
    Command("settings", settings_command, N_("Default resolution, duration and sound")),
    Command("cancel", cancel_command, N_("Drop unfinished cards")),
    Command("language", language_command, N_("Choose the bot's language")),
    Command("history", history_command, N_("Your videos, to get one again")),
    Command("seed", seed_command, N_("Fix the seed, or make it random again")),
    Command("negative", negative_command, N_("What the video should avoid")),
    Command("privacy", privacy_command, N_("What the bot keeps about you")),
    Command("forget", forget_command, N_("Delete everything the bot keeps about you")),
    Command("buy", buy_command, N_("Buy credits with Telegram Stars"), billing=True),
    Command("balance", balance_command, N_("Your credits and their last movements"), billing=True),
    Command("paysupport", paysupport_command, N_("Questions about a payment"), billing=True),
    Command("help", help_command, N_("How to make a video")),
    # Not in the menu: /video is for groups (see /help), the rest for admins.
    Command("video", video_command),
    Command("grant", grant_command),
    Command("refund", refund_command),
    Command("stats", stats_command),
    Command("allow", allow_command),
    Command("deny", deny_command),
    # A group's admins, in their group (see /help).
    Command("groupsettings", groupsettings_command),
    Command("groupallow", groupallow_command),
    Command("groupstats", groupstats_command),
)

# Every button, by the type of its action: the first row that takes a press answers it.
BUTTONS = (
    Button(Generate, generate),
    Button(Cancel, cancel_card),
    Button(Noop, press_label),  # the duration between − and +, on both cards
    Button(SettingAction | CardEdit, edit_card, Scope.CARD),
    Button(SettingAction, change_default, Scope.DEFAULTS),
    Button(CloseDefaults, close_defaults),
    Button(ChooseLanguage, choose_language),
    Button(ConfirmForget, forget_button),
    Button(BuyPack, buy_button),
    Button(HistoryAction, history_button),
    Button(VideoAction, video_button),
    Button(ClipAction, clip_button),
    Button(SetGroupRule, group_button),
    Button(Expired, expired_button),  # an older release's button, or one tampered with
)


def register_handlers(app: BotApplication) -> None:
    # The access gate runs before everything (group -1) and stops refused updates there.
    app.add_handler(TypeHandler(Update, check_access), group=-1)
    # Payments before anything else: Stars already taken are credited, whatever follows.
    app.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, successful_payment))
    app.add_handler(MessageHandler(filters.StatusUpdate.REFUNDED_PAYMENT, refunded_payment))
    app.add_handler(PreCheckoutQueryHandler(pre_checkout))
    # Commands first: "/help" must never be taken for a prompt. New messages only: an edited
    # /grant must not grant again. Their arguments come without direction marks.
    for command in COMMANDS:
        app.add_handler(CommandRoute(command.name, command.callback, filters.UpdateType.MESSAGE))
    # Buttons: one handler decodes each press once and routes it by BUTTONS.
    app.add_handler(ButtonRouter(BUTTONS))
    # "@<bot> words" in any chat: the user's own videos to share there.
    app.add_handler(InlineQueryHandler(share_videos))
    # Audio before images: an MP3 sent as a file is a document too. In groups only what is
    # meant for the bot: the public soundtrack host re-hosts nobody else's music.
    audio = (filters.AUDIO | filters.Document.AUDIO) & ADDRESSED_TO_BOT
    app.add_handler(MessageHandler(audio, receive_audio))
    app.add_handler(MessageHandler(filters.VOICE & ADDRESSED_TO_BOT, receive_voice))
    # An edited caption updates that photo's card; only a new photo opens one.
    images = filters.PHOTO | filters.Document.ALL
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & images, edit_caption))
    # Any document goes to receive_image, which explains when it is not a usable image.
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & images, receive_image))
    # A reply to a card edits its prompt; other text gets a hint (in private chats only:
    # a group would not thank the bot for answering every message).
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & filters.REPLY, reply_to_card))
    # A bare link to an MP3/WAV file is a soundtrack, not a request for help.
    app.add_handler(
        MessageHandler(
            filters.Regex(AUDIO_LINK) & ~filters.COMMAND & ADDRESSED_TO_BOT, receive_audio_link
        )
    )
    app.add_handler(
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, text_without_photo
        )
    )
    # Anything else a person sends in private (stickers, videos, locations) gets one hint a
    # minute; service messages (a pinned message, a new member) get none.
    app.add_handler(MessageHandler(UNUSABLE & filters.ChatType.PRIVATE, unusable_message))
    app.add_error_handler(log_error)


UNUSABLE = (
    filters.Sticker.ALL
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.ANIMATION
    | filters.LOCATION
    | filters.VENUE
    | filters.CONTACT
    | filters.POLL
    | filters.Dice.ALL
)
