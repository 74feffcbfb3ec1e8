"""The command line's last edge: what reaches the operator's terminal passes the same redaction as logs and spans.

Error messages can quote what a venue sent (an unknown order side, a status word), and a hostile or broken
venue can echo our own request headers back; a summary or a traceback can carry the same text. Code should
never put a secret there; this wrapper makes sure the terminal never shows one if it does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, cast


class RedactingStream:
    """A text stream that scrubs every write before handing it to the stream it wraps.

    Everything else (``isatty``, ``fileno``, ``encoding``, ``flush``) is the wrapped stream's, so terminal
    detection and rich's live display behave as on the bare stream. Writes are scrubbed one by one: ``print``
    and rich write a message whole, and the redactor also catches the header-shaped forms.
    """

    def __init__(self, inner: TextIO, redact: Callable[[str], str]) -> None:
        self._inner = inner
        self._redact = redact

    @property
    def inner(self) -> TextIO:
        return self._inner

    def write(self, text: str) -> int:
        self._inner.write(self._redact(text))
        # Callers count what they gave, not what was written after scrubbing.
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextmanager
def redacted_output(redact: Callable[[str], str]) -> Iterator[None]:
    """Scrub ``sys.stdout`` and ``sys.stderr`` for the duration; the previous streams come back afterwards."""
    saved = sys.stdout, sys.stderr
    sys.stdout = cast(TextIO, RedactingStream(saved[0], redact))
    sys.stderr = cast(TextIO, RedactingStream(saved[1], redact))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
