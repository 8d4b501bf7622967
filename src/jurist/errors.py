"""Error types.

Configuration and input errors are raised before any model call and stop the run with exit code 2.
Backend errors say whether a retry can help; a parse failure keeps the raw text it could not read.
"""

from __future__ import annotations


class JuristError(Exception):
    """Base class of every error jurist raises on purpose."""


class ConfigError(JuristError):
    """Bad configuration (unknown model spec, rubric, template, option): found before any model call."""


class InputError(JuristError):
    """Bad input data. Names the file, the line (or row) and the field, and says what to do."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file, self.line, self.field, self.hint = file, line, field, hint
        self.message = message
        where = file or "<data>"
        if line is not None:
            where += f":{line}"
        text = f"{where}: "
        if field:
            text += f"field '{field}': "
        text += message
        if hint:
            text += f"\n  -> {hint}"
        super().__init__(text)


class BackendError(JuristError):
    """A model call failed.

    `retryable` errors (429, 5xx, timeouts, dropped connections) are retried with backoff;
    `fatal` errors (bad key, unknown model) stop the whole run at once, since every item would fail the same way.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        fatal: bool = False,
        retry_after: float | None = None,
        reason: str = "backend_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.fatal = fatal
        self.retry_after = retry_after
        self.reason = reason


class ContextOverflowError(BackendError):
    """The prompt does not fit the model's context window."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, status=status, reason="context_overflow")


class ParseError(JuristError):
    """The judge's text held no verdict we could read. The raw text is kept on the verdict."""

    def __init__(self, message: str, raw: str) -> None:
        super().__init__(message)
        self.raw = raw


class RunDirError(ConfigError):
    """The run directory cannot be used: one of its files is damaged or cannot be written (read-only, disk full),
    or another process is running in it. Names the file (and line) and says what to do; exit code 2."""


class NoVerdictError(ConfigError):
    """A run ended without a single verdict: every item failed (exit code 3). What was recorded is kept, with
    each failure's reason."""


class MissingExtraError(ConfigError):
    """An optional package is not installed. Says which extra brings it and the pip command (exit code 2); raised
    by `jurist.extras.require`."""
