"""A fake Telegram Bot API: the methods the bot uses, with Telegram's limits and error texts.

Tests drive it like users would (`send_photo`, `send_text`, `press`) and read what the bot did
from `calls`, waiting for events with `wait_for` (never sleeping).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image

from .server import serve
from .telegram_html import ParseError, parse_html, utf16_len

BOT_ID = 7000001
BOT_USERNAME = "wan_test_bot"
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
CALLBACK_ANSWER_LIMIT = 200
PRE_CHECKOUT_TIMEOUT = 10.0  # seconds a bot has to answer a pre-checkout query
DOWNLOAD_LIMIT = 20 * 1024 * 1024
UPLOAD_LIMIT = 50 * 1024 * 1024
VIDEO_NOTE_MAX_LENGTH = 640  # a round video note's diameter
INLINE_RESULTS_LIMIT = 50  # answerInlineQuery
# What getChatMember says an administrator may do (ChatMemberAdministrator's required fields).
ADMIN_RIGHTS = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories",
)  # fmt: skip


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


@dataclass
class FloodLimits:
    """Telegram's flood control, as the fake enforces it when a test sets `flood_limits`:
    messages and edits, ~30 a second overall, ~1 a second per private chat (a burst of 3
    passes: a token bucket) and 20 a minute per group."""

    overall_per_second: int = 30
    chat_burst: int = 3
    chat_per_second: float = 1.0
    group_limit: int = 20
    group_window: float = 60.0


class _FloodControl:
    def __init__(self, limits: FloodLimits) -> None:
        self.limits = limits
        self._overall: deque[float] = deque()
        self._groups: dict[int, deque[float]] = {}
        self._buckets: dict[int, tuple[float, float]] = {}  # chat: (tokens, when)

    @staticmethod
    def counts(method: str) -> bool:
        if method == "sendChatAction":
            return False
        return method.startswith(("send", "edit", "copyMessage", "forwardMessage"))

    def check(self, chat_id: int | None) -> None:
        """Count one message or edit, or raise the 429 Telegram would answer."""
        now = time.monotonic()
        waits = [self._window_wait(self._overall, now, self.limits.overall_per_second, 1.0)]
        if chat_id is not None and chat_id < 0:
            group = self._groups.setdefault(chat_id, deque())
            waits.append(
                self._window_wait(group, now, self.limits.group_limit, self.limits.group_window)
            )
        elif chat_id is not None:
            tokens, when = self._buckets.get(chat_id, (float(self.limits.chat_burst), now))
            tokens = min(
                self.limits.chat_burst, tokens + (now - when) * self.limits.chat_per_second
            )
            waits.append(0.0 if tokens >= 1 else (1 - tokens) / self.limits.chat_per_second)
        wait = max(waits)
        if wait > 0:
            raise ApiError(
                429, f"Too Many Requests: retry after {math.ceil(wait)}", math.ceil(wait)
            )
        self._overall.append(now)
        if chat_id is not None and chat_id < 0:
            self._groups[chat_id].append(now)
        elif chat_id is not None:
            self._buckets[chat_id] = (tokens - 1, now)

    @staticmethod
    def _window_wait(sent: deque[float], now: float, limit: int, seconds: float) -> float:
        while sent and sent[0] <= now - seconds:
            sent.popleft()
        return 0.0 if len(sent) < limit else sent[0] + seconds - now


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    error: str | None = None
    at: float = field(default_factory=time.monotonic)  # when it was answered
    answer_lost: bool = False  # done, but the bot never got the answer (`lose_answer`)


@dataclass
class LostAnswer:
    """The next call of `method` is done (a sendVideo's message is in the chat), then its
    answer is lost: the connection drops (`late` None) or the answer comes `late` seconds
    later, after the bot's own timeout (what a slow network or an overloaded server does)."""

    method: str
    late: float | None = None


@dataclass
class StoredFile:
    file_id: str
    unique_id: str
    data: bytes
    path: str


class Messages(dict[tuple[int, int], dict[str, Any]]):
    """Every message by (chat id, message id), and each chat's own by message id: tests wait on
    one chat's messages after every call, and a scan of all of them made the 50-user tests
    spend a tenth of their time here."""

    def __init__(self) -> None:
        super().__init__()
        self.of_chat: dict[int, dict[int, dict[str, Any]]] = {}

    def __setitem__(self, key: tuple[int, int], message: dict[str, Any]) -> None:
        super().__setitem__(key, message)
        self.of_chat.setdefault(key[0], {})[key[1]] = message

    def __delitem__(self, key: tuple[int, int]) -> None:
        super().__delitem__(key)
        del self.of_chat[key[0]][key[1]]


class FakeTelegram:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.messages = Messages()
        self.files: dict[str, StoredFile] = {}
        self.blocked_chats: set[int] = set()
        self.flood_calls = 0  # the next N method calls get 429 Too Many Requests
        # The next N calls of a method get 429 (retry after `flood_retry_after` s); Telegram
        # then refuses that chat's messages until the pause is over, as it does.
        self.flood_on: dict[str, int] = {}
        self.flood_retry_after = 1
        self._paused_chats: dict[int, float] = {}  # chat: when its 429 pause ends
        self.lost_answers: list[LostAnswer] = []
        self.flood_limits: FloodLimits | None = None  # Telegram's flood control, when set
        # Telegram Stars: pre-checkout answers by query id, charges paid and refunded.
        self.pre_checkout_answers: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        # refundStarPayment: the refund is applied, then the answer waits this long (a test
        # sets it past the bot's read timeout: the bot's call times out after the refund).
        self.refund_delay = 0.0
        self.download_delay = 0.0  # seconds the file server takes before sending a file
        self.upload_delay = 0.0  # seconds sendVideo takes over an uploaded file
        self.uploads_under_way = 0
        # refundStarPayment: the next calls are refused with these errors, nothing refunded.
        self.refund_errors: list[str] = []
        # Pre-checkout queries must be answered within `pre_checkout_timeout` seconds by
        # `clock` (a test may scale the one or move the other).
        self.clock: Callable[[], float] = time.monotonic
        self.pre_checkout_timeout = PRE_CHECKOUT_TIMEOUT
        self._pre_checkout_asked: dict[str, float] = {}
        self._flood: _FloodControl | None = None
        self.webhook: dict[str, Any] | None = None
        self.chats: dict[int, dict[str, Any]] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = itertools.count(1)
        self._next_message_id: dict[int, itertools.count] = {}
        self._next_file = itertools.count(1)
        self._callback_queries: dict[str, bool] = {}
        self._inline_queries: dict[str, int] = {}  # unanswered inline queries: their user
        # Each group's administrators (getChatMember); a test promotes and demotes here.
        self.chat_admins: dict[int, set[int]] = {}
        self.inline_answers: dict[str, dict[str, Any]] = {}  # by inline query id
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self.url = ""

    # -- server lifecycle ------------------------------------------------------------------
    async def start(self, port: int = 0) -> str:
        app = web.Application(client_max_size=UPLOAD_LIMIT + 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle_method)
        app.router.add_get("/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner, self.url = await serve(app, port)
        return self.url

    async def stop(self) -> None:
        self._stopping = True  # a pending long poll answers now instead of holding the stop
        await self._notify()
        if self._runner:
            await self._runner.cleanup()

    # -- what users do ---------------------------------------------------------------------
    @staticmethod
    def user(user_id: int, first_name: str = "Ann", language_code: str | None = "en") -> dict:
        user = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        return user

    def send_text(
        self, user: dict, text: str, *, chat_id: int | None = None, reply_to: int | None = None
    ) -> dict:
        message = self._user_message(user, chat_id, reply_to)
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return self._push_message(message)

    def send_photo(
        self,
        user: dict,
        image: bytes,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        media_group_id: str | None = None,
    ) -> dict:
        """A photo as Telegram stores it: a thumbnail and the full size, largest last. An
        album is several of these with one `media_group_id`, the caption on the first."""
        with Image.open(io.BytesIO(image)) as full:
            width, height = full.size
            thumb = full.convert("RGB")
            thumb.thumbnail((90, 90))
            buffer = io.BytesIO()
            thumb.save(buffer, "JPEG")
        small = self.add_file(buffer.getvalue(), "photos/thumb.jpg")
        large = self.add_file(image, "photos/file.jpg")
        message = self._user_message(user, chat_id, None)
        message["photo"] = [
            self._photo_size(small, thumb.width, thumb.height),
            self._photo_size(large, width, height),
        ]
        if caption is not None:
            message["caption"] = caption
        if media_group_id is not None:
            message["media_group_id"] = media_group_id
        return self._push_message(message)

    def send_document(
        self,
        user: dict,
        data: bytes,
        *,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        chat_id: int | None = None,
        file_size: int | None = None,
    ) -> dict:
        stored = self.add_file(data, f"documents/{file_name}")
        message = self._user_message(user, chat_id, None)
        message["document"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": file_size if file_size is not None else len(data),
        }
        if caption is not None:
            message["caption"] = caption
        return self._push_message(message)

    def send_audio(
        self,
        user: dict,
        data: bytes,
        *,
        file_name: str,
        mime_type: str,
        duration: int,
        as_document: bool = False,
    ) -> dict:
        stored = self.add_file(data, f"music/{file_name}")
        message = self._user_message(user, None, None)
        media = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        if as_document:
            message["document"] = media
        else:
            message["audio"] = media | {"duration": duration}
        return self._push_message(message)

    def send_voice(self, user: dict, data: bytes, *, duration: int) -> dict:
        stored = self.add_file(data, "voice/file.oga")
        message = self._user_message(user, None, None)
        message["voice"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return self._push_message(message)

    def edit_text(self, message: dict, text: str) -> dict:
        """The user edits the text of a message they sent (a command, too)."""
        edited = dict(message) | {"text": text, "edit_date": int(time.time())}
        if text.startswith("/"):
            command = text.split()[0]
            length = utf16_len(command)
            edited["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        self.messages[(message["chat"]["id"], message["message_id"])] = edited
        self._push({"edited_message": edited})
        return edited

    def edit_caption(self, message: dict, caption: str) -> dict:
        """The user edits the caption of a message they sent: an `edited_message` update."""
        edited = dict(message) | {"caption": caption, "edit_date": int(time.time())}
        self.messages[(message["chat"]["id"], message["message_id"])] = edited
        self._push({"edited_message": edited})
        return edited

    def send_sticker(self, user: dict, *, chat_id: int | None = None) -> dict:
        stored = self.add_file(b"RIFF-webp", "stickers/file.webp")
        message = self._user_message(user, chat_id, None)
        message["sticker"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "😀",
        }
        return self._push_message(message)

    def send_location(
        self, user: dict, latitude: float, longitude: float, *, chat_id: int | None = None
    ) -> dict:
        message = self._user_message(user, chat_id, None)
        message["location"] = {"latitude": latitude, "longitude": longitude}
        return self._push_message(message)

    def take_updates(self) -> list[dict[str, Any]]:
        """Pending updates, removed from the queue: what Telegram would POST to a webhook."""
        taken, self._updates = self._updates, []
        return taken

    def press(self, user: dict, message: dict, data: str, *, late: bool = False) -> str:
        """Tap an inline button of a bot message; returns the callback query id. `late`:
        the bot gets the press after Telegram stopped waiting for its answer (a backlog)."""
        query_id = f"cq{next(self._next_file)}"
        self._callback_queries[query_id] = late
        current = self._public(self.messages[(message["chat"]["id"], message["message_id"])])
        self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": current,
                    "chat_instance": str(message["chat"]["id"]),
                    "data": data,
                }
            }
        )
        return query_id

    def inline_query(self, user: dict, query: str, *, offset: str = "", late: bool = False) -> str:
        """Type "@bot <query>" in some chat: an inline query from `user`; returns its id.
        `late`: the bot gets it after Telegram stopped waiting for its answer."""
        query_id = f"iq{next(self._next_file)}"
        if not late:
            self._inline_queries[query_id] = user["id"]
        self._push(
            {
                "inline_query": {
                    "id": query_id,
                    "from": user,
                    "query": query,
                    "offset": offset,
                    "chat_type": "sender",
                }
            }
        )
        return query_id

    def add_file(self, data: bytes, path: str) -> StoredFile:
        n = next(self._next_file)
        stored = StoredFile(f"FILE{n:06d}", f"U{n:06d}", data, f"{n}/{path}")
        self.files[stored.file_id] = stored
        return stored

    # -- what tests read -------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def errors(self) -> list[Call]:
        return [c for c in self.calls if c.error]

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        chat = self.messages.of_chat.get(chat_id, {})
        return [chat[m] for m in sorted(chat) if chat[m]["from"]["id"] == BOT_ID]

    def buttons(self, message: dict) -> dict[str, str]:
        """Label -> callback data of the message's current keyboard."""
        current = self.messages[(message["chat"]["id"], message["message_id"])]
        markup = current.get("reply_markup") or {}
        return {
            b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row
        }

    def current(self, message: dict) -> dict[str, Any]:
        return self.messages[(message["chat"]["id"], message["message_id"])]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        async def check() -> Any:
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result

        try:
            return await asyncio.wait_for(check(), timeout)
        except TimeoutError:
            recent = [(c.method, c.error) for c in self.calls[-8:]]
            raise AssertionError(
                f"fake Telegram: condition not met in {timeout}s; last calls: {recent}"
            ) from None

    async def wait_for_call(
        self,
        method: str,
        count: int = 1,
        where: Callable[[Call], bool] = lambda c: True,
        timeout: float = 10.0,
    ) -> list[Call]:
        def matched() -> list[Call] | None:
            found = [c for c in self.calls_to(method) if c.error is None and where(c)]
            return found if len(found) >= count else None

        return await self.wait_for(matched, timeout)

    # -- internals -------------------------------------------------------------------------
    def _chat(self, chat_id: int, user: dict) -> dict:
        if chat_id not in self.chats:
            if chat_id > 0:
                self.chats[chat_id] = {
                    "id": chat_id,
                    "type": "private",
                    "first_name": user["first_name"],
                }
            else:
                self.chats[chat_id] = {"id": chat_id, "type": "supergroup", "title": "Group"}
        return self.chats[chat_id]

    def _new_message_id(self, chat_id: int) -> int:
        counter = self._next_message_id.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def _user_message(self, user: dict, chat_id: int | None, reply_to: int | None) -> dict:
        chat_id = chat_id if chat_id is not None else user["id"]
        message: dict[str, Any] = {
            "message_id": self._new_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat(chat_id, user),
            "from": user,
        }
        if reply_to is not None:
            message["reply_to_message"] = self._public(self.messages[(chat_id, reply_to)])
        return message

    @staticmethod
    def _photo_size(stored: StoredFile, width: int, height: int) -> dict:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "width": width,
            "height": height,
            "file_size": len(stored.data),
        }

    def _push_message(self, message: dict) -> dict:
        self.messages[(message["chat"]["id"], message["message_id"])] = message
        self._push({"message": message})
        return message

    def _push(self, payload: dict) -> None:
        payload["update_id"] = next(self._next_update_id)
        self._updates.append(payload)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        path = request.match_info["path"]
        if self.download_delay:
            await asyncio.sleep(self.download_delay)
        for stored in self.files.values():
            if stored.path == path:
                return web.Response(body=stored.data)
        self.calls.append(Call("downloadFile", {"file_path": path}, error="Not Found"))
        await self._notify()
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params, files = await _read_params(request)
        call = Call(method, params, files)
        try:
            if self.flood_calls and method != "getUpdates":
                self.flood_calls -= 1
                raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
            self._check_paused(method, params)
            self._check_flood(method, params)
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(params, files)
        except ApiError as exc:
            call.error = exc.description
            self.calls.append(call)
            await self._notify()
            body: dict[str, Any] = {
                "ok": False,
                "error_code": exc.code,
                "description": exc.description,
            }
            if exc.retry_after is not None:
                body["parameters"] = {"retry_after": exc.retry_after}
            return web.json_response(body, status=exc.code)
        if method != "getUpdates":
            self.calls.append(call)
            await self._notify()
        lost = next((a for a in self.lost_answers if a.method == method), None)
        if lost is not None:
            self.lost_answers.remove(lost)
            call.answer_lost = True
            if lost.late is None:
                request.transport.close()  # type: ignore[union-attr]
                raise asyncio.CancelledError
            await asyncio.sleep(lost.late)
        return web.json_response({"ok": True, "result": result})

    def _check_paused(self, method: str, params: dict[str, Any]) -> None:
        """`flood_on`: a 429 for this call, or for any message to a chat still paused."""
        chat = _chat_id(params)
        now = time.monotonic()
        if self.flood_on.get(method):
            self.flood_on[method] -= 1
            wait = self.flood_retry_after
            if chat is not None:
                self._paused_chats[chat] = now + wait
        elif chat is not None and _FloodControl.counts(method):
            wait = math.ceil(self._paused_chats.get(chat, now) - now)
            if wait <= 0:
                return
        else:
            return
        raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)

    def _check_flood(self, method: str, params: dict[str, Any]) -> None:
        if self.flood_limits is None:
            return
        if self._flood is None or self._flood.limits is not self.flood_limits:
            self._flood = _FloodControl(self.flood_limits)
        if not self._flood.counts(method):
            return
        self._flood.check(_chat_id(params))

    def flood_errors(self) -> list[Call]:
        return [c for c in self.calls if c.error and c.error.startswith("Too Many Requests")]

    # -- Bot API methods -------------------------------------------------------------------
    async def _m_getMe(self, params: dict, files: dict) -> dict:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Wan",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_deleteWebhook(self, params: dict, files: dict) -> bool:
        self.webhook = None
        return True

    async def _m_setWebhook(self, params: dict, files: dict) -> bool:
        url = str(params.get("url") or "")
        if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
            raise ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
        self.webhook = {"url": url, "secret_token": params.get("secret_token")}
        return True

    async def _m_setMyCommands(self, params: dict, files: dict) -> bool:
        commands = _json(params.get("commands"))
        for command in commands:
            if not 1 <= len(command["description"]) <= 256:
                raise ApiError(400, "Bad Request: command description is invalid")
        return True

    async def _m_sendChatAction(self, params: dict, files: dict) -> bool:
        return True

    async def _m_getChat(self, params: dict, files: dict) -> dict:
        """A chat the fake has seen (a test may add one, with a username), or any user's."""
        chat_id = int(params["chat_id"])
        chat = self.chats.get(chat_id)
        if chat is None and chat_id < 0:
            raise ApiError(400, "Bad Request: chat not found")
        chat = chat or {"id": chat_id, "type": "private", "first_name": "User"}
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    async def _m_getUpdates(self, params: dict, files: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0 and not self._stopping:
            with contextlib.suppress(AssertionError):
                await self.wait_for(lambda: self._updates or self._stopping, timeout=timeout)
        limit = int(params.get("limit") or 100)
        return self._updates[:limit]

    async def _m_getFile(self, params: dict, files: dict) -> dict:
        stored = self.files.get(str(params.get("file_id")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.data) > DOWNLOAD_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
            "file_path": stored.path,
        }

    async def _m_sendInvoice(self, params: dict, files: dict) -> dict:
        chat = self._target_chat(params)
        prices = _json(params.get("prices")) or []
        payload = str(params.get("payload", ""))
        if params.get("currency") != "XTR":
            raise ApiError(400, "Bad Request: CURRENCY_INVALID")
        if params.get("provider_token"):
            raise ApiError(400, "Bad Request: PAYMENT_PROVIDER_INVALID")  # Stars: none
        if len(prices) != 1 or int(prices[0].get("amount", 0)) <= 0:
            raise ApiError(400, "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID")
        if not 1 <= len(payload.encode()) <= 128:
            raise ApiError(400, "Bad Request: INVOICE_PAYLOAD_INVALID")
        message = self._bot_message(chat, params)
        message["invoice"] = {
            "title": params.get("title"),
            "description": params.get("description"),
            "start_parameter": "",
            "currency": "XTR",
            "total_amount": int(prices[0]["amount"]),
        }
        message["_payload"] = payload
        return self._store(message)

    async def _m_answerPreCheckoutQuery(self, params: dict, files: dict) -> bool:
        query_id = str(params.get("pre_checkout_query_id"))
        ok = _json(params.get("ok"))
        asked = self._pre_checkout_asked.get(query_id)
        if (
            asked is None
            or self.pre_checkout_answers.get(query_id)
            or self.clock() - asked > self.pre_checkout_timeout
        ):
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired "
                "or query ID is invalid",
            )
        if not ok and not params.get("error_message"):
            raise ApiError(400, "Bad Request: ERROR_MESSAGE_EMPTY")
        self.pre_checkout_answers[query_id] = {
            "ok": bool(ok),
            "error": params.get("error_message"),
        }
        return True

    async def _m_refundStarPayment(self, params: dict, files: dict) -> bool:
        charge_id = str(params.get("telegram_payment_charge_id"))
        charge = self.charges.get(charge_id)
        if charge is None or int(params.get("user_id", 0)) != charge["user_id"]:
            raise ApiError(400, "Bad Request: CHARGE_NOT_FOUND")
        if charge["refunded"]:
            raise ApiError(400, "Bad Request: CHARGE_ALREADY_REFUNDED")
        if self.refund_errors:
            raise ApiError(400, self.refund_errors.pop(0))
        self.refunded(charge_id)
        if self.refund_delay:
            await asyncio.sleep(self.refund_delay)
        return True

    # -- paying (what Telegram does when a user pays an invoice) ---------------------------
    def pre_checkout(self, user: dict, invoice: dict, *, payload: str | None = None) -> str:
        """The user taps Pay: Telegram asks the bot first (it has 10 seconds to answer:
        `pre_checkout_timeout` by `clock`; a later answer is refused, the payment dropped)."""
        stored = self.messages[(invoice["chat"]["id"], invoice["message_id"])]
        query_id = f"pcq{next(self._next_file)}"
        self.pre_checkout_answers[query_id] = {}
        self._pre_checkout_asked[query_id] = self.clock()
        self._push(
            {
                "pre_checkout_query": {
                    "id": query_id,
                    "from": user,
                    "currency": "XTR",
                    "total_amount": stored["invoice"]["total_amount"],
                    "invoice_payload": stored["_payload"] if payload is None else payload,
                }
            }
        )
        return query_id

    async def checkout_answer(self, query_id: str) -> dict[str, Any]:
        return await self.wait_for(lambda: self.pre_checkout_answers.get(query_id) or None)

    def paid(self, user: dict, invoice: dict, charge_id: str) -> dict:
        """The Stars are taken: the bot gets a successful_payment message (Telegram may
        deliver the same update again; a test replays it by calling this again)."""
        stored = self.messages[(invoice["chat"]["id"], invoice["message_id"])]
        amount = stored["invoice"]["total_amount"]
        self.charges.setdefault(
            charge_id,
            {
                "user_id": user["id"],
                "amount": amount,
                "refunded": False,
                "user": user,
                "payload": stored["_payload"],
            },
        )
        message = self._user_message(user, invoice["chat"]["id"], None)
        message["successful_payment"] = {
            "currency": "XTR",
            "total_amount": amount,
            "invoice_payload": stored["_payload"],
            "telegram_payment_charge_id": charge_id,
            "provider_payment_charge_id": "",
        }
        return self._push_message(message)

    def refunded(self, charge_id: str) -> dict:
        """The charge's Stars go back (refundStarPayment, or the user's dispute, support…):
        the bot gets a refunded_payment message in the user's chat. A test replays the
        update by calling this again."""
        charge = self.charges[charge_id]
        charge["refunded"] = True
        message = self._user_message(charge["user"], charge["user_id"], None)
        message["refunded_payment"] = {
            "currency": "XTR",
            "total_amount": charge["amount"],
            "invoice_payload": charge["payload"],
            "telegram_payment_charge_id": charge_id,
        }
        return self._push_message(message)

    async def _m_answerCallbackQuery(self, params: dict, files: dict) -> bool:
        query_id = str(params.get("callback_query_id"))
        if self._callback_queries.get(query_id, True):
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired "
                "or query ID is invalid",
            )
        if utf16_len(str(params.get("text") or "")) > CALLBACK_ANSWER_LIMIT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._callback_queries[query_id] = True
        return True

    async def _m_sendMessage(self, params: dict, files: dict) -> dict:
        chat = self._target_chat(params)
        text, tags = self._parse_text(params, "text", MESSAGE_LIMIT)
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = self._markup(params)
        message = self._bot_message(chat, params)
        message.update(text=text, _tags=tags)
        if markup:
            message["reply_markup"] = markup
        return self._store(message)

    async def _m_editMessageText(self, params: dict, files: dict) -> dict:
        chat_id = int(params["chat_id"])
        self._target_chat(params)
        key = (chat_id, int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != BOT_ID:
            raise ApiError(400, "Bad Request: message can't be edited")
        text, tags = self._parse_text(params, "text", MESSAGE_LIMIT)
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = self._markup(params)
        if (text, tags, markup) == (
            message.get("text"),
            message.get("_tags"),
            message.get("reply_markup"),
        ):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same as a current "
                "content and reply markup of the message",
            )
        message.update(text=text, _tags=tags, edit_date=int(time.time()))
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        return self._public(message)

    async def _m_sendVideo(self, params: dict, files: dict) -> dict:
        chat = self._target_chat(params)
        video = files.get("video")
        file_id = params.get("video")
        if video is None and isinstance(file_id, str):  # a video Telegram already has
            stored_video = self.files.get(file_id)
            if stored_video is None:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            video = stored_video.data
        if video is None:
            raise ApiError(400, "Bad Request: there is no video in the request")
        if len(video) > UPLOAD_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        if self.upload_delay and files.get("video") is not None:
            self.uploads_under_way += 1
            await self._notify()
            await asyncio.sleep(self.upload_delay)  # a big file on a slow line
            self.uploads_under_way -= 1
        caption, tags = self._parse_text(params, "caption", CAPTION_LIMIT)
        message = self._bot_message(chat, params)
        stored = self.add_file(video, "videos/file.mp4")
        message["video"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "width": int(params.get("width") or 0),
            "height": int(params.get("height") or 0),
            "duration": int(params.get("duration") or 0),
            "file_size": len(video),
            "mime_type": "video/mp4",
        }
        if caption:
            message.update(caption=caption, _tags=tags)
        if (markup := self._markup(params)) is not None:
            message["reply_markup"] = markup
        return self._store(message)

    async def _m_sendVideoNote(self, params: dict, files: dict) -> dict:
        chat = self._target_chat(params)
        note = files.get("video_note")
        file_id = params.get("video_note")
        if note is None and isinstance(file_id, str):
            if file_id.startswith(("http://", "https://")):
                raise ApiError(400, "Bad Request: sending video notes by a URL is unsupported")
            stored_note = self.files.get(file_id)
            if stored_note is None:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            note = stored_note.data
        if note is None:
            raise ApiError(400, "Bad Request: there is no video note in the request")
        if len(note) > UPLOAD_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        length = int(params.get("length") or 0)
        if not 0 <= length <= VIDEO_NOTE_MAX_LENGTH:
            raise ApiError(400, "Bad Request: wrong video note length")
        message = self._bot_message(chat, params)
        stored = self.add_file(note, "video_notes/file.mp4")
        message["video_note"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "length": length,
            "duration": int(params.get("duration") or 0),
            "file_size": len(note),
        }
        if (markup := self._markup(params)) is not None:
            message["reply_markup"] = markup
        return self._store(message)

    async def _m_getChatMember(self, params: dict, files: dict) -> dict:
        chat = self._target_chat(params)
        try:
            user_id = int(params.get("user_id"))
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: invalid user_id specified") from None
        user = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        if chat["type"] == "private":
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        if user_id not in self.chat_admins.get(chat["id"], set()):
            return {"status": "member", "user": user}
        rights = dict.fromkeys(ADMIN_RIGHTS, True) | {"can_be_edited": False}
        return {"status": "administrator", "user": user, "is_anonymous": False, **rights}

    async def _m_answerInlineQuery(self, params: dict, files: dict) -> bool:
        query_id = str(params.get("inline_query_id"))
        if query_id not in self._inline_queries:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired "
                "or query ID is invalid",
            )
        results = _json(params.get("results"))
        if not isinstance(results, list) or len(results) > INLINE_RESULTS_LIMIT:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = [str(result.get("id", "")) for result in results]
        if len(set(ids)) != len(ids) or not all(1 <= len(i.encode()) <= 64 for i in ids):
            raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
        for result in results:
            if result.get("type") == "video" and result.get("video_file_id") not in self.files:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            if not result.get("title"):
                raise ApiError(400, "Bad Request: RESULT_TITLE_EMPTY")
        del self._inline_queries[query_id]  # answered once
        self.inline_answers[query_id] = {**params, "results": results}
        return True

    # -- method helpers --------------------------------------------------------------------
    def _target_chat(self, params: dict) -> dict:
        try:
            chat_id = int(params.get("chat_id"))
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
        return self.chats[chat_id]

    def _parse_text(self, params: dict, name: str, limit: int) -> tuple[str, list[str]]:
        raw = str(params.get(name) or "")
        if params.get("parse_mode") == "HTML":
            try:
                text, tags = parse_html(raw)
            except ParseError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        elif params.get("parse_mode"):
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        else:
            text, tags = raw, []
        if utf16_len(text) > limit:
            what = "message caption is too long" if name == "caption" else "message is too long"
            raise ApiError(400, f"Bad Request: {what}")
        return text, tags

    def _markup(self, params: dict) -> dict | None:
        markup = _json(params.get("reply_markup"))
        if not markup:
            return None
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _bot_message(self, chat: dict, params: dict) -> dict:
        message: dict[str, Any] = {
            "message_id": self._new_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Wan", "username": BOT_USERNAME},
        }
        reply = _json(params.get("reply_parameters"))
        if reply:
            target = self.messages.get((chat["id"], int(reply["message_id"])))
            if target is None and not reply.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found")
            if target is not None:
                message["reply_to_message"] = self._public(target)
        return message

    def _store(self, message: dict) -> dict:
        self.messages[(message["chat"]["id"], message["message_id"])] = message
        return self._public(message)

    @staticmethod
    def _public(message: dict) -> dict:
        return {k: v for k, v in message.items() if not k.startswith("_")}


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    params: dict[str, Any] = dict(request.query)
    files: dict[str, bytes] = {}
    if request.content_type == "application/json":
        params.update(await request.json())
    elif request.can_read_body:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = value.file.read()
            else:
                params[key] = value
        # PTB sends uploads as attach://name references.
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                files[key] = files.pop(value.removeprefix("attach://"), b"")
    return params, files


def _chat_id(params: dict[str, Any]) -> int | None:
    chat = params.get("chat_id")
    try:
        return int(chat) if chat is not None else None
    except (TypeError, ValueError):
        return None


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value
