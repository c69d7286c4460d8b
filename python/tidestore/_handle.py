"""What :class:`tidestore.Db` and :class:`tidestore.KV` share: an open native handle
with a path, ``close()``, ``closed`` and the context-manager protocol."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

H = TypeVar("H", bound="Handle")


class NativeHandle(Protocol):
    """What the native classes ``_Db`` and ``_KV`` have in common."""

    @property
    def path(self) -> str: ...

    @property
    def closed(self) -> bool: ...

    def close(self) -> None: ...


class Handle:
    """Base of the public handle classes; ``_native`` is the native object."""

    __slots__ = ("_native",)

    _native: NativeHandle

    @property
    def path(self) -> str:
        """The directory."""
        return self._native.path

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._native.closed

    def close(self) -> None:
        """Stops background work and makes every acknowledged write durable. Waits for
        calls in progress in other threads. Closing twice does nothing; any other call
        after it raises :class:`tidestore.ClosedError`."""
        self._native.close()

    def __enter__(self: H) -> H:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<tidestore.{type(self).__name__} {self.path!r} ({state})>"
