"""Effect templates of the API (experimental upstream), each with a short description."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a string for the catalogue; it is translated where it is shown."""
    return message


TEMPLATES: dict[str, str] = {
    "squish": N_("squeezed like soft clay"),
    "rotation": N_("spins around"),
    "poke": N_("a finger pokes it"),
    "inflate": N_("puffs up like a balloon"),
    "dissolve": N_("dissolves into particles"),
    "melt": N_("melts away"),
    "icecream": N_("turns into ice cream"),
    "carousel": N_("rides a carousel"),
    "singleheart": N_("makes a heart with the hands"),
    "dance1": N_("dance, style 1"),
    "dance2": N_("dance, style 2"),
    "dance3": N_("dance, style 3"),
    "dance4": N_("dance, style 4"),
    "dance5": N_("dance, style 5"),
    "mermaid": N_("becomes a mermaid"),
    "graduation": N_("graduation cap and gown"),
    "dragon": N_("a dragon appears"),
    "money": N_("money rains down"),
    "jellyfish": N_("jellyfish float around"),
    "pupil": N_("a close-up of the eyes"),
    "flying": N_("takes off and flies"),
    "rose": N_("holds out a rose"),
    "crystalrose": N_("a crystal rose"),
    "hug": N_("two people hug"),
    "frenchkiss": N_("two people kiss"),
    "coupleheart": N_("a couple makes a heart"),
}
