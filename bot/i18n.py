"""Gettext catalogues read from `locales/<lang>/LC_MESSAGES/bot.po` at start-up.

The .po files are compiled in memory with Babel, so no `.mo` build step exists to forget.
A Translator is chosen per update (saved choice, then Telegram's language_code, then English)
and never kept in a global.
"""

from __future__ import annotations

import functools
import gettext
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

DEFAULT_LOCALE = "en"
# An installed package carries them (bot/locales); the source tree keeps them at the top.
PACKAGED_LOCALES = Path(__file__).resolve().parent / "locales"
SOURCE_LOCALES = Path(__file__).resolve().parent.parent / "locales"


def locales_dir() -> Path:
    for candidate in (PACKAGED_LOCALES, SOURCE_LOCALES):
        if any(candidate.glob("*/LC_MESSAGES/bot.po")):
            return candidate
    return PACKAGED_LOCALES


def N_(message: str) -> str:
    """Mark a string for the catalogue; it is translated where it is shown."""
    return message


# Telegram sends IETF tags (pt-br, zh-hans); catalogues use gettext names.
_ALIASES = {
    "zh": "zh_Hans",
    "zh-hans": "zh_Hans",
    "zh-cn": "zh_Hans",
    "zh-sg": "zh_Hans",
    "pt": "pt_BR",
    "pt-br": "pt_BR",
}


# Each language named in itself, for the /language keyboard.
LANGUAGE_NAMES = {
    "en": "English",
    "ru": "Русский",
    "uk": "Українська",
    "es": "Español",
    "pt_BR": "Português (Brasil)",
    "id": "Bahasa Indonesia",
    "tr": "Türkçe",
    "ar": "العربية",
    "hi": "हिन्दी",
    "zh_Hans": "中文 (简体)",
}
RTL_LOCALES = frozenset({"ar", "fa", "he", "ur"})
# First-strong isolate: numbers and Latin values keep their order inside right-to-left text.
_ISOLATE = "\u2068{}\u2069"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# A <code> entity is copied by a tap: an isolate inside it would be copied too ("/allow ⁨123⁩"),
# so a value there is not isolated; the whole entity is, from outside, unless the catalogue
# isolates it already.
_CODE = re.compile(r"<code>[^<]*</code>")
_BARE_CODE = re.compile(r"(?<![\u2066\u2067\u2068])<code>[^<]*\{\w+\}[^<]*</code>")


@dataclass(frozen=True)
class Translator:
    locale: str
    catalogue: gettext.NullTranslations

    @property
    def rtl(self) -> bool:
        return self.locale in RTL_LOCALES

    def isolated(self, text: str) -> str:
        """`text` as a run of its own in a right-to-left language (a signed number, an id),
        so "-12" never shows as "12-"; as it is otherwise."""
        return _ISOLATE.format(text) if self.rtl else text

    def _(self, message: str, **params: object) -> str:
        text = self.catalogue.gettext(message)
        return self._format(text, params) if params else text

    def ngettext(self, singular: str, plural: str, n: int, **params: object) -> str:
        text = self.catalogue.ngettext(singular, plural, n)
        return self._format(text, {"n": n, **params})

    def _format(self, text: str, params: dict[str, object]) -> str:
        if not self.rtl:
            return text.format(**params)
        in_code = {name for code in _CODE.findall(text) for name in _PLACEHOLDER.findall(code)}
        text = _BARE_CODE.sub(lambda code: _ISOLATE.format(code[0]), text)
        return text.format(
            **{k: v if k in in_code else _ISOLATE.format(v) for k, v in params.items()}
        )


@functools.lru_cache(maxsize=64)
def _translations(po_path: Path, locale: str, mtime_ns: int, size: int) -> gettext.GNUTranslations:
    """The catalogue, read and compiled once per version of its file (parsing the ten .po
    files takes ~0.15 s): a GNUTranslations is never changed after it is made, so every
    Catalogues of the process (every test's bot) shares it."""
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Catalogues:
    """All loaded languages; `for_language` picks the best one for a user."""

    def __init__(self, translations: dict[str, gettext.NullTranslations]) -> None:
        self._translations = translations
        self._translations.setdefault(DEFAULT_LOCALE, gettext.NullTranslations())

    @classmethod
    def load(cls, directory: Path | None = None) -> Catalogues:
        """Every catalogue; none found is said loudly (the bot would answer all in English)."""
        directory = directory or locales_dir()
        translations: dict[str, gettext.NullTranslations] = {}
        for po_path in sorted(directory.glob("*/LC_MESSAGES/bot.po")):
            locale = po_path.parent.parent.name
            found = po_path.stat()
            translations[locale] = _translations(po_path, locale, found.st_mtime_ns, found.st_size)
        if not translations:
            log.error(
                "no translation catalogues in %s: every user will be answered in English "
                "(install the package with its data, or run from the source tree)",
                directory,
            )
        return cls(translations)

    @property
    def locales(self) -> list[str]:
        return sorted(self._translations)

    def resolve(self, *candidates: str | None) -> str:
        """First candidate we have a catalogue for (exact, alias, then base language)."""
        for candidate in candidates:
            if not candidate:
                continue
            tag = candidate.strip().replace("_", "-").lower()
            for option in (candidate, _ALIASES.get(tag), tag.split("-")[0]):
                if option and option in self._translations:
                    return option
                if option and _ALIASES.get(option) in self._translations:
                    return _ALIASES[option]
        return DEFAULT_LOCALE

    def translator(self, *candidates: str | None) -> Translator:
        locale = self.resolve(*candidates)
        return Translator(locale, self._translations[locale])
