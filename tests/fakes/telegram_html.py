"""Telegram's HTML parse mode, as strict as the real parser: tags, entities, error texts."""

from __future__ import annotations

import html
import re

ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")


class ParseError(Exception):
    """The text Telegram would refuse with 400 "Bad Request: can't parse entities: ..."."""


def parse_html(text: str) -> tuple[str, list[str]]:
    """Return (plain text, tag sequence) or raise ParseError with Telegram's wording."""
    plain: list[str] = []
    tags: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        offset = len(text[:i].encode("utf-8"))
        if ch == "<":
            match = _TAG.match(text, i)
            if match is None:
                raise ParseError(f"Unsupported start tag at byte offset {offset}")
            closing, name, _attrs = match.groups()
            name = name.lower()
            if closing:
                if not stack:
                    raise ParseError(f"Unexpected end tag at byte offset {offset}")
                if stack[-1] != name:
                    raise ParseError(
                        f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>",'
                        f' found "</{name}>"'
                    )
                stack.pop()
            else:
                if name not in ALLOWED_TAGS:
                    raise ParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
                stack.append(name)
            tags.append(match.group(0))
            i = match.end()
        elif ch == "&":
            match = _ENTITY.match(text, i)
            if match is None:
                raise ParseError(
                    f"Character '&' is reserved and must be escaped at byte offset {offset}"
                )
            plain.append(html.unescape(match.group(0)))
            i = match.end()
        elif ch == ">":
            raise ParseError(
                f"Character '>' is reserved and must be escaped at byte offset {offset}"
            )
        else:
            plain.append(ch)
            i += 1
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(plain), tags


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
