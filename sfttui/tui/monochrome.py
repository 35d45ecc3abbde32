"""What the app draws with NO_COLOR set: greys that always read.

Textual's own NO_COLOR filter turns every colour into the grey of its brightness, so
red text on the dark background became a dark grey on a dark grey ("⚠ conflict" at a
contrast of 1.33:1). Here backgrounds turn grey the same way, and text is black or
white, whichever stands out more from its background: statuses then read by their
symbols, words, bold and reverse, as NO_COLOR asks, never by a colour lost to grey.
"""

from __future__ import annotations

from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter

_BLACK, _WHITE = Color(0, 0, 0), Color(255, 255, 255)


def luminance(color: Color) -> float:
    """Relative luminance (WCAG 2)."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)


def contrast(a: Color, b: Color) -> float:
    """WCAG contrast ratio of two colours, 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@lru_cache(1024)
def readable_style(style: Style, background: Color) -> Style:
    """`style` in greys: its background's grey, and black or white text on it."""
    back = Color.from_rich_color(style.bgcolor).monochrome if style.bgcolor else background.monochrome
    if style.reverse:
        # Reversed text shows its colour as the background: the text is then the other.
        fore = Color.from_rich_color(style.color).monochrome if style.color else _WHITE
        text = _BLACK if contrast(fore, _BLACK) >= contrast(fore, _WHITE) else _WHITE
        return style + Style(color=fore.rich_color, bgcolor=text.rich_color)
    text = _BLACK if contrast(back, _BLACK) >= contrast(back, _WHITE) else _WHITE
    plain = Style(dim=False) if style.dim else Style()  # dim grey on grey is what this is against
    return style + plain + Style(color=text.rich_color, bgcolor=back.rich_color)


class ReadableMonochrome(LineFilter):
    """Textual's Monochrome filter, with text that always reads (see the module)."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [
            Segment(text, readable_style(style, background) if style else style, None)
            for text, style, _ in segments
        ]


def readable(filters: list[LineFilter]) -> list[LineFilter]:
    """The app's line filters with Textual's Monochrome (set for NO_COLOR) replaced."""
    from textual.filter import Monochrome

    return [ReadableMonochrome() if isinstance(f, Monochrome) else f for f in filters]
