"""The footer: Textual's, without the widgets it leaks on every change of keys."""

from __future__ import annotations

from textual.widgets import Footer


class KeysFooter(Footer):
    """Footer that lets go of the keys it removed.

    Each time the active keys change (every focus change, so every tab switch) the
    footer recomposes, and each new FooterKey is data-bound to the footer's `compact`
    reactive. Textual drops the watchers of removed keys only when `compact` changes,
    which it never does here, so every switch left a footer's worth of dead widgets
    behind: after a minute of tab keys, hundreds of them, and the garbage collector's
    full passes over them grew to 100-400 ms, which a key pressed then waited for.
    """

    async def recompose(self) -> None:
        await super().recompose()
        watchers: dict[str, list] = getattr(self, "__watchers", {})
        for bound in watchers.values():
            bound[:] = [(node, callback) for node, callback in bound if not (node._closing or node._closed)]
