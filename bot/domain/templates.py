"""Effect templates of the API (experimental upstream): each with a short name for buttons and
cards and a description, both translated where shown; the API only ever sees the id."""

from __future__ import annotations

from dataclasses import dataclass


def N_(message: str) -> str:
    """Mark a string for the catalogue; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Effect:
    name: str
    about: str


TEMPLATES: dict[str, Effect] = {
    "squish": Effect(N_("Squish"), N_("squeezed like soft clay")),
    "rotation": Effect(N_("Spin"), N_("spins around")),
    "poke": Effect(N_("Poke"), N_("a finger pokes it")),
    "inflate": Effect(N_("Inflate"), N_("puffs up like a balloon")),
    "dissolve": Effect(N_("Dissolve"), N_("dissolves into particles")),
    "melt": Effect(N_("Melt"), N_("melts away")),
    "icecream": Effect(N_("Ice cream"), N_("turns into ice cream")),
    "carousel": Effect(N_("Carousel"), N_("rides a carousel")),
    "singleheart": Effect(N_("Heart hands"), N_("makes a heart with the hands")),
    "dance1": Effect(N_("Dance 1"), N_("dance, style 1")),
    "dance2": Effect(N_("Dance 2"), N_("dance, style 2")),
    "dance3": Effect(N_("Dance 3"), N_("dance, style 3")),
    "dance4": Effect(N_("Dance 4"), N_("dance, style 4")),
    "dance5": Effect(N_("Dance 5"), N_("dance, style 5")),
    "mermaid": Effect(N_("Mermaid"), N_("becomes a mermaid")),
    "graduation": Effect(N_("Graduation"), N_("graduation cap and gown")),
    "dragon": Effect(N_("Dragon"), N_("a dragon appears")),
    "money": Effect(N_("Money rain"), N_("money rains down")),
    "jellyfish": Effect(N_("Jellyfish"), N_("jellyfish float around")),
    "pupil": Effect(N_("Eyes close-up"), N_("a close-up of the eyes")),
    "flying": Effect(N_("Flying"), N_("takes off and flies")),
    "rose": Effect(N_("Rose"), N_("holds out a rose")),
    "crystalrose": Effect(N_("Crystal rose"), N_("a crystal rose")),
    "hug": Effect(N_("Hug"), N_("two people hug")),
    "frenchkiss": Effect(N_("Kiss"), N_("two people kiss")),
    "coupleheart": Effect(N_("Couple heart"), N_("a couple makes a heart")),
}
