"""Telegram glue: every handler is registered here, in the order that decides who answers."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    TypeHandler,
    filters,
)

from bot.domain.soundtrack import AUDIO_LINK
from bot.telegram.callback_data import (
    BUY_CODES,
    CARD_EDIT_CODES,
    FORGET_CODES,
    HISTORY_CODES,
    SETTING_CODES,
    VIDEO_CODES,
    Scope,
    pattern,
)
from bot.telegram.context import BotApplication
from bot.telegram.handlers.access import check_access
from bot.telegram.handlers.admin import allow_command, deny_command, stats_command
from bot.telegram.handlers.advanced import (
    negative_command,
    receive_audio,
    receive_audio_link,
    refuse_voice,
    seed_command,
)
from bot.telegram.handlers.billing import (
    balance_command,
    buy_button,
    buy_command,
    grant_command,
    paysupport_command,
    pre_checkout,
    refund_command,
    successful_payment,
)
from bot.telegram.handlers.card import (
    cancel_card,
    edit_card,
    expired_button,
    generate,
    press_label,
)
from bot.telegram.handlers.defaults import change_default, choose_language, close_defaults
from bot.telegram.handlers.errors import log_error
from bot.telegram.handlers.history import history_button, history_command
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


def register_handlers(app: BotApplication) -> None:
    # The access gate runs before everything (group -1) and stops refused updates there.
    app.add_handler(TypeHandler(Update, check_access), group=-1)
    # Payments before anything else: Stars already taken are credited, whatever follows.
    app.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, successful_payment))
    app.add_handler(PreCheckoutQueryHandler(pre_checkout))
    # Commands first: "/help" must never be taken for a prompt.
    app.add_handler(CommandHandler("start", start_command))
    app.add_handler(CommandHandler("help", help_command))
    app.add_handler(CommandHandler("settings", settings_command))
    app.add_handler(CommandHandler("cancel", cancel_command))
    app.add_handler(CommandHandler("language", language_command))
    app.add_handler(CommandHandler("seed", seed_command))
    app.add_handler(CommandHandler("negative", negative_command))
    app.add_handler(CommandHandler("video", video_command))
    app.add_handler(CommandHandler("history", history_command))
    app.add_handler(CommandHandler("privacy", privacy_command))
    app.add_handler(CommandHandler("forget", forget_command))
    app.add_handler(CommandHandler("buy", buy_command))
    app.add_handler(CommandHandler("balance", balance_command))
    app.add_handler(CommandHandler("paysupport", paysupport_command))
    app.add_handler(CommandHandler("grant", grant_command))
    app.add_handler(CommandHandler("refund", refund_command))
    app.add_handler(CommandHandler("stats", stats_command))
    app.add_handler(CommandHandler("allow", allow_command))
    app.add_handler(CommandHandler("deny", deny_command))
    register_buttons(app)
    # Audio before images: an MP3 sent as a file is a document too.
    app.add_handler(MessageHandler(filters.AUDIO | filters.Document.AUDIO, receive_audio))
    app.add_handler(MessageHandler(filters.VOICE, refuse_voice))
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
        MessageHandler(filters.Regex(AUDIO_LINK) & ~filters.COMMAND, receive_audio_link)
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


def register_buttons(app: BotApplication) -> None:
    """One handler per kind of button; the last catches whatever no pattern knows."""
    card, defaults = Scope.CARD, Scope.DEFAULTS
    app.add_handler(CallbackQueryHandler(generate, pattern=pattern(card, "go", "retry")))
    app.add_handler(CallbackQueryHandler(cancel_card, pattern=pattern(card, "x")))
    for scope in (card, defaults):
        app.add_handler(CallbackQueryHandler(press_label, pattern=pattern(scope, "noop")))
    card_edits = pattern(card, *SETTING_CODES, *CARD_EDIT_CODES)
    app.add_handler(CallbackQueryHandler(edit_card, pattern=card_edits))
    app.add_handler(
        CallbackQueryHandler(change_default, pattern=pattern(defaults, *SETTING_CODES))
    )
    app.add_handler(CallbackQueryHandler(close_defaults, pattern=pattern(defaults, "x")))
    app.add_handler(CallbackQueryHandler(choose_language, pattern=pattern(defaults, "lang")))
    app.add_handler(
        CallbackQueryHandler(forget_button, pattern=pattern(Scope.FORGET, *FORGET_CODES))
    )
    app.add_handler(CallbackQueryHandler(buy_button, pattern=pattern(Scope.BUY, *BUY_CODES)))
    history = pattern(Scope.HISTORY, *HISTORY_CODES)
    app.add_handler(CallbackQueryHandler(history_button, pattern=history))
    video = pattern(Scope.VIDEO, *VIDEO_CODES)
    app.add_handler(CallbackQueryHandler(video_button, pattern=video))
    app.add_handler(CallbackQueryHandler(expired_button))
