"""The conversations of the README's screens, played with the real bot against the e2e fakes.

Each screen is a moment of one user's chat (tests/harness.py: the fake Bot API and the fake
apimart on 127.0.0.1, the real bot in between), taken as `tools.chat_page.Bubble`s: the text
each message had then, with the HTML the bot sent, the keyboard it had, the photo it quoted.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from bot.i18n import RTL_LOCALES, Catalogues
from tests.fakes.apimart_api import DEFAULT_SCRIPT
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import World, make_world, open_card
from tools.chat_page import Bubble, Invoice, Reply, Screen, Video, plain_text, telegram_html
from tools.clock import FROZEN

# The same Stars shop as tests/test_e2e_billing.py.
STARS: dict[str, Any] = {"billing": "stars", "credits_per_usd": 100, "star_packs": (50, 200)}
SUPPORT = "@wan_support"  # PAYSUPPORT_CONTACT: BILLING=stars asks for one
WAIT = 20.0  # seconds any one step may take before the run fails

# What the users of each language write.
PROMPTS = {
    "en": (
        "the sun sets slowly, clouds drift over the hills",
        "waves roll onto the beach at dusk",
        "a paper boat drifts across the lake",
        "fireflies rise over the meadow",
    ),
    "ar": (
        "الشمس تغرب ببطء والغيوم تمرّ فوق التلال",
        "الأمواج تتكسّر على الشاطئ عند الغروب",
        "قارب ورقي ينساب فوق البحيرة",
        "اليراعات تطير فوق المرج",
    ),
}
USER_NAMES = {"en": "Ann", "ar": "ليلى"}
# The button Telegram's app puts under an invoice, in the app's language.
PAY = {"en": "Pay ⭐ {stars}", "ar": "ادفع ⭐ {stars}"}


def scenery(variant: int = 0, size: tuple[int, int] = (960, 720)) -> bytes:
    """A photo to send: a flat-coloured landscape (few colours: the screens stay small)."""
    palettes = [
        ((255, 196, 122), (250, 140, 90), (255, 236, 170), (92, 140, 96), (58, 104, 76)),
        ((142, 196, 240), (96, 156, 214), (255, 250, 220), (84, 150, 176), (40, 96, 140)),
        ((200, 170, 230), (150, 120, 200), (255, 230, 240), (110, 150, 110), (70, 110, 90)),
        ((40, 52, 96), (26, 34, 70), (250, 240, 180), (48, 90, 70), (28, 60, 50)),
    ]
    sky, band, sun, hill, near = palettes[variant % len(palettes)]
    width, height = size
    image = Image.new("RGB", size, sky)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height * 0.42, width, height), fill=band)
    draw.ellipse((width * 0.58, height * 0.16, width * 0.80, height * 0.45), fill=sun)
    draw.polygon(
        [
            (0, height * 0.62),
            (width * 0.35, height * 0.40),
            (width * 0.7, height * 0.66),
            (width, height * 0.50),
            (width, height),
            (0, height),
        ],
        fill=hill,
    )
    draw.polygon(
        [
            (0, height * 0.82),
            (width * 0.5, height * 0.68),
            (width, height * 0.86),
            (width, height),
            (0, height),
        ],
        fill=near,
    )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, subsampling=0)
    return buffer.getvalue()


def record_html(telegram: FakeTelegram) -> dict[tuple[int, int], str]:
    """From now on, the browser HTML of every text and caption the bot sends or edits, by
    (chat, message id): the fake keeps only their plain text."""
    shown: dict[tuple[int, int], str] = {}
    for method, field_name in (
        ("sendMessage", "text"),
        ("editMessageText", "text"),
        ("sendVideo", "caption"),
    ):
        original = getattr(telegram, f"_m_{method}")

        async def recorded(
            params: dict[str, Any],
            files: dict[str, bytes],
            original: Callable[..., Awaitable[dict[str, Any]]] = original,
            field_name: str = field_name,
        ) -> dict[str, Any]:
            result = await original(params, files)
            raw = str(params.get(field_name) or "")
            parsed = params.get("parse_mode") == "HTML"
            key = (int(params["chat_id"]), int(result["message_id"]))
            shown[key] = telegram_html(raw) if parsed else plain_text(raw)
            return result

        setattr(telegram, f"_m_{method}", recorded)
    return shown


@dataclass
class Chats:
    """The world, the HTML the bot sent, and the screens taken so far."""

    world: World
    shown: dict[tuple[int, int], str]
    screens: list[Screen] = field(default_factory=list)

    @property
    def tg(self) -> FakeTelegram:
        return self.world.telegram

    def chat(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message of a chat as it is now, oldest first."""
        return [m for (c, _), m in sorted(self.tg.messages.items()) if c == chat_id]

    def bubble(self, message: dict[str, Any], time: str, lang: str = "en") -> Bubble:
        """A message as the chat shows it now."""
        mine = message["from"]["id"] == message["chat"]["id"]
        key = (message["chat"]["id"], message["message_id"])
        text = message.get("text") or message.get("caption") or ""
        markup = message.get("reply_markup") or {}
        replied = message.get("reply_to_message")
        video = None
        if "video" in message:
            frame = self._photo(replied) if replied else None
            video = Video(
                frame or scenery(),
                message["video"]["width"],
                message["video"]["height"],
                message["video"]["duration"],
            )
        invoice = None
        buttons = tuple(
            tuple(button["text"] for button in row) for row in markup.get("inline_keyboard", [])
        )
        if "invoice" in message:
            found = message["invoice"]
            invoice = Invoice(found["title"], found["description"], found["total_amount"])
            buttons = ((PAY.get(lang, PAY["en"]).format(stars=invoice.stars),),)
        return Bubble(
            outgoing=mine,
            html=plain_text(text) if mine else self.shown.get(key, plain_text(text)),
            photo=self._photo(message),
            video=video,
            invoice=invoice,
            reply=self._reply(replied) if replied and not mine else None,
            buttons=buttons,
            time=time,
        )

    def _photo(self, message: dict[str, Any]) -> bytes | None:
        sizes = message.get("photo")
        return self.tg.files[sizes[-1]["file_id"]].data if sizes else None

    def _reply(self, message: dict[str, Any]) -> Reply:
        text = message.get("text") or message.get("caption") or "📷"
        return Reply(message["from"]["first_name"], text, self._photo(message))

    def take(self, name: str, lang: str, messages: list[dict[str, Any]]) -> Screen:
        """The screen `name`: these messages as they are now."""
        current = [self.tg.current(m) for m in messages]
        bubbles = tuple(self.bubble(m, _clock(n), lang) for n, m in enumerate(current))
        screen = Screen(name, lang, lang in RTL_LOCALES, bubbles)
        self.screens.append(screen)
        return screen

    async def until(self, test: Callable[[], Any]) -> Any:
        return await self.tg.wait_for(test, WAIT)

    async def text_is(self, message: dict[str, Any], *fragments: str) -> None:
        """Wait until the message's text has every fragment."""
        await self.until(lambda: all(f in self.tg.current(message)["text"] for f in fragments))

    async def reply_to(self, user: dict[str, Any], text: str) -> dict[str, Any]:
        """The user sends `text`; the bot's first new message after it."""
        before = len(self.tg.bot_messages(user["id"]))
        self.tg.send_text(user, text)
        return await self.until(  # type: ignore[no-any-return]
            lambda: next(iter(self.tg.bot_messages(user["id"])[before:]), None)
        )


def _clock(n: int) -> str:
    return f"12:{n:02}"


@asynccontextmanager
async def chats(data_dir: Path) -> AsyncIterator[Chats]:
    """A world of fakes whose bot messages keep their HTML."""
    async with make_world(data_dir) as world:
        yield Chats(world, record_html(world.telegram))


async def press(chats: Chats, user: dict[str, Any], card: dict[str, Any], data: str) -> None:
    """Tap the card's button with this callback data (any language); wait for the card to
    change (another tap before that would be on the old card, as a quick thumb's is)."""
    tg = chats.tg
    assert data in tg.buttons(card).values(), (data, tg.buttons(card))
    before = dict(tg.current(card))
    tg.press(user, card, data)
    await chats.until(lambda: tg.current(card) != before)


def user_of(chats: Chats, lang: str, number: int) -> dict[str, Any]:
    base = {"en": 1000, "ar": 2000}.get(lang, 3000)
    return chats.tg.user(base + number, USER_NAMES.get(lang, "Ann"), language_code=lang)


async def changed_card(chats: Chats, lang: str, user: dict[str, Any]) -> dict[str, Any]:
    """A card for `user` just after the photo, then with 1080p and 10 seconds chosen: the
    screens "card" and "settings"; returns the card."""
    card = await open_card(
        chats.world, user, caption=PROMPTS[lang][0], image=scenery(0), timeout=WAIT
    )
    photo = card["reply_to_message"]
    chats.take("card", lang, [photo, card])
    await press(chats, user, card, "v1:c:res:1080")
    await press(chats, user, card, "v1:c:dur:10")
    await chats.until(lambda: not {"v1:c:res:1080", "v1:c:dur:10"} & _marked(chats, card))
    chats.take("settings", lang, [photo, card])
    return card


def _marked(chats: Chats, card: dict[str, Any]) -> set[str]:
    """Callback data of the card's buttons not marked as chosen."""
    markup = chats.tg.current(card).get("reply_markup") or {}
    return {
        b["callback_data"]
        for row in markup.get("inline_keyboard", [])
        for b in row
        if not b["text"].lstrip("\u200f").startswith("✓")
    }


async def main_screens(chats: Chats, lang: str) -> None:
    """card, settings, progress, queued, video, error, history and help: one bot, one task
    at a time (so a second one waits in line)."""
    api = chats.world.apimart
    t = Catalogues.load().translator(lang)
    # A task stays generating as long as the screens need (the clock jumps ahead meanwhile).
    async with chats.world.bot(max_active_tasks=1, task_timeout=3600):
        await changed_card(chats, lang, user_of(chats, lang, 1))

        maker = user_of(chats, lang, 2)
        generating = await _progress(chats, maker, PROMPTS[lang][1], scenery(1))
        chats.take("progress", lang, [generating["reply_to_message"], generating])

        waiting = await _generate(chats, user_of(chats, lang, 3), PROMPTS[lang][2], scenery(2))
        await chats.text_is(waiting, t._(_IN_LINE))
        chats.take("queued", lang, [waiting["reply_to_message"], waiting])

        api.release(str(api.accepted()[0].task_id))
        await chats.text_is(generating, t._(_DONE))
        await api.wait_for(lambda: len(api.accepted()) == 2, WAIT)
        api.release(str(api.accepted()[1].task_id))
        await chats.text_is(waiting, t._(_DONE))
        api.hold_new_tasks = False
        chats.take("video", lang, chats.chat(maker["id"]))

        api.script = [("pending", 0), ("failed", 0)]
        failing = await _generate(chats, user_of(chats, lang, 4), PROMPTS[lang][3], scenery(3))
        await chats.text_is(failing, "❌")
        chats.take("error", lang, [failing["reply_to_message"], failing])
        api.script = list(DEFAULT_SCRIPT)

        await _history(chats, lang, user_of(chats, lang, 5))
        helper = user_of(chats, lang, 6)
        await chats.reply_to(helper, "/help")
        chats.take("help", lang, chats.chat(helper["id"]))


async def _progress(
    chats: Chats, user: dict[str, Any], prompt: str, image: bytes
) -> dict[str, Any]:
    """A card at 70 %, 84 s after the task was sent (held there until released); new tasks
    are held at 70 % too from now on."""
    api = chats.world.apimart
    api.hold_new_tasks, api.script = True, [("pending", 0)]  # pending until told otherwise
    card = await _generate(chats, user, prompt, image)
    await api.wait_for(lambda: api.accepted() and api.status_queries, WAIT)
    api.script = list(DEFAULT_SCRIPT)
    FROZEN.advance(84)
    task = api.tasks[str(api.accepted()[0].task_id)]
    task.script, task.step = [("pending", 0), ("processing", 70), ("completed", 100)], 1
    await chats.until(lambda: "▓▓▓▓▓▓▓░░░" in chats.tg.current(card)["text"])
    return card


async def _generate(
    chats: Chats, user: dict[str, Any], prompt: str, image: bytes
) -> dict[str, Any]:
    """A photo, its card, Generate tapped; returns the card once the task left the draft."""
    card = await open_card(chats.world, user, caption=prompt, image=image, timeout=WAIT)
    await press(chats, user, card, "v1:c:go")
    await chats.until(lambda: "v1:c:go" not in chats.tg.buttons(card).values())
    return card


async def _history(chats: Chats, lang: str, user: dict[str, Any]) -> None:
    """Three videos, the second one failed, then /history."""
    api = chats.world.apimart
    t = Catalogues.load().translator(lang)
    for n, prompt in enumerate(PROMPTS[lang][1:]):
        api.script = [("pending", 0), ("failed", 0)] if n == 1 else list(DEFAULT_SCRIPT)
        card = await _generate(chats, user, prompt, scenery(n + 1))

        def ended(card: dict[str, Any] = card) -> bool:
            text = chats.tg.current(card)["text"]
            return t._(_DONE) in text or "❌" in text

        await chats.until(ended)
    api.script = list(DEFAULT_SCRIPT)
    command = chats.tg.send_text(user, "/history")
    listing = await chats.until(
        lambda: next(
            (
                m
                for m in chats.tg.bot_messages(user["id"])
                if m["message_id"] > command["message_id"] and m.get("reply_markup")
            ),
            None,
        )
    )
    chats.take("history", lang, [command, listing])


async def buy_screen(chats: Chats, lang: str) -> None:
    """/buy with BILLING=stars: the packs, and the invoice of the first."""
    tg = chats.tg
    user = user_of(chats, lang, 7)
    async with chats.world.bot(**STARS, paysupport_contact=SUPPORT):
        command = tg.send_text(user, "/buy")
        offer = await chats.until(
            lambda: next((m for m in tg.bot_messages(user["id"]) if m.get("reply_markup")), None)
        )
        first = offer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        tg.press(user, offer, first)
        invoice = await chats.until(
            lambda: next((m for m in tg.bot_messages(user["id"]) if "invoice" in m), None)
        )
        chats.take("buy", lang, [command, offer, invoice])


# English texts whose translation the run waits for (no HTML in them).
_IN_LINE = "⏳ In line: yours is next. It starts by itself when a slot frees up."
_DONE = "✅ Done! Your video is in the chat."


async def record_screens(data_dir: Path, lang: str) -> list[Screen]:
    """Every screen of one language, in the README's order."""
    FROZEN.restart()
    async with chats(data_dir) as played:
        await main_screens(played, lang)
        await buy_screen(played, lang)
        problems = played.world.error_problems()
        if problems:
            raise RuntimeError("\n".join(problems))
    order = ["card", "settings", "queued", "progress", "video", "history", "buy", "error", "help"]
    return sorted(played.screens, key=lambda s: order.index(s.name))
