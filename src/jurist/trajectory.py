"""Agent trajectories: the messages an agent exchanged (with its tool calls and their results), in OpenAI's or
Anthropic's message format, brought to one typed form, a list of `Step`s.

OpenAI: an assistant message's `tool_calls` ([{id, type: "function", function: {name, arguments}}]) and a
`role: "tool"` message with its `tool_call_id`. Anthropic: content blocks `tool_use {id, name, input}` and
`tool_result {tool_use_id, content}`. Both give the same steps: one step per message, except that each tool result
is a step of its own (role "tool"), as OpenAI writes it, and the text beside tool results in an Anthropic user
message is a user step after them."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

StepRole = Literal["system", "user", "assistant", "tool"]


class TrajectoryError(ValueError):
    """A message that cannot be read; `field` says where (e.g. "trajectory[3].tool_call_id")."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.reason = message
        self.field = field


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    # the arguments as an object; a text that is not a JSON object (a model's malformed call) is kept as given
    arguments: dict[str, Any] | str


class ToolResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    call_id: str
    name: str  # the name of the tool that was called (from its call)
    content: str
    is_error: bool = False


class Step(BaseModel):
    """One step of a trajectory: `index` (0-based, what evidence points to), who spoke, its text, the tools it
    called (assistant) or the result it carries (tool)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int
    role: StepRole
    text: str = ""
    tool_calls: list[ToolCall] = []
    tool_result: ToolResult | None = None

    def render(self, limit: int | None = None) -> str:
        """The step as a judge reads it; with `limit`, each part cut to that many characters (a digest line)."""

        def cut(text: str) -> str:
            text = " ".join(text.split()) if limit is not None else text
            return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."

        parts = [f"[step {self.index}] {self.role}:"]
        if self.text:
            parts.append(cut(self.text))
        for call in self.tool_calls:
            arguments = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
            parts.append(f"<calls {call.name} (id {call.id}) with {cut(arguments)}>")
        if (result := self.tool_result) is not None:
            flag = " (error)" if result.is_error else ""
            parts.append(f"<result of {result.name} (id {result.call_id}){flag}: {cut(result.content)}>")
        return " ".join(parts) if limit is not None else "\n".join(parts)


def _text_of(value: Any, field: str) -> str:
    """A content value as text: a string, or a list of text parts (an image part is shown as [image])."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = []
        for i, part in enumerate(value):
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, dict) and part.get("type") in ("image", "image_url"):
                texts.append("[image]")
            else:
                raise TrajectoryError("must be text, or a list of text parts", f"{field}[{i}]")
        return "\n".join(texts)
    raise TrajectoryError(f"must be text or a list of parts, got {type(value).__name__}", field)


def _arguments(value: Any, field: str) -> dict[str, Any] | str:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return value
        return parsed if isinstance(parsed, dict) else value
    raise TrajectoryError("must be a JSON object or its text", field)


def _need_text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise TrajectoryError("must be a non-empty text", field)
    return value


def is_normalised(messages: Any) -> bool:
    """Whether `messages` are steps already (Step objects, or their dumps with an `index`)."""
    return isinstance(messages, list) and all(
        isinstance(m, Step) or (isinstance(m, dict) and "index" in m) for m in messages
    )


def normalise(messages: Any, field: str = "trajectory") -> list[Step]:
    """Read a trajectory in OpenAI's or Anthropic's format (or a mix, message by message) into steps. Raises
    TrajectoryError naming the message and field for what cannot be read: a message that is not an object, an
    unknown role or content block, a call without id or name, a duplicated call id, a tool result for a call id
    that no earlier step made."""
    if not isinstance(messages, list) or not messages:
        raise TrajectoryError("must be a non-empty list of messages", field)
    steps: list[Step] = []
    calls: dict[str, str] = {}  # call id -> tool name

    def add(role: StepRole, text: str = "", tool_calls: list[ToolCall] | None = None, result: Any = None) -> None:
        steps.append(Step(index=len(steps), role=role, text=text, tool_calls=tool_calls or [], tool_result=result))

    def call(call_id: Any, name: Any, arguments: Any, where: str) -> ToolCall:
        call_id = _need_text(call_id, f"{where}.id")
        if call_id in calls:
            raise TrajectoryError(f"the call id '{call_id}' is used twice", f"{where}.id")
        calls[call_id] = _need_text(name, f"{where}.name")
        return ToolCall(id=call_id, name=calls[call_id], arguments=arguments)

    def result(call_id: Any, content: Any, is_error: Any, where: str, id_field: str) -> ToolResult:
        call_id = _need_text(call_id, f"{where}.{id_field}")
        if call_id not in calls:
            raise TrajectoryError(f"is a result for the call id '{call_id}', which no earlier step made", where)
        return ToolResult(
            call_id=call_id, name=calls[call_id], content=_text_of(content, f"{where}.content"), is_error=bool(is_error)
        )

    for n, message in enumerate(messages):
        where = f"{field}[{n}]"
        if not isinstance(message, dict):
            raise TrajectoryError(f"must be a message object, got {type(message).__name__}", where)
        role = message.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise TrajectoryError(f"unknown role {role!r}; give system, user, assistant or tool", f"{where}.role")
        content = message.get("content")
        if role == "tool":  # OpenAI
            add("tool", result=result(message.get("tool_call_id"), content, False, where, "tool_call_id"))
            continue
        texts: list[str] = []
        made: list[ToolCall] = []
        results: list[ToolResult] = []
        for i, raw in enumerate(message.get("tool_calls") or []):  # OpenAI
            at = f"{where}.tool_calls[{i}]"
            function = raw.get("function") if isinstance(raw, dict) else None
            if not isinstance(function, dict):
                raise TrajectoryError("must be {id, type: function, function: {name, arguments}}", at)
            arguments = _arguments(function.get("arguments", {}), f"{at}.function.arguments")
            made.append(call(raw.get("id"), function.get("name"), arguments, at))
        if isinstance(content, list):  # content blocks (Anthropic; OpenAI's text parts)
            for i, block in enumerate(content):
                at = f"{where}.content[{i}]"
                kind = block.get("type") if isinstance(block, dict) else None
                if kind == "tool_use":
                    made.append(call(block.get("id"), block.get("name"), _arguments(block.get("input", {}), at), at))
                elif kind == "tool_result":
                    results.append(
                        result(block.get("tool_use_id"), block.get("content"), block.get("is_error"), at, "tool_use_id")
                    )
                else:
                    texts.append(_text_of([block], f"{where}.content"))
        else:
            texts.append(_text_of(content, f"{where}.content"))
        text = "\n".join(t for t in texts if t)
        if made and role != "assistant":
            raise TrajectoryError("only an assistant message may call tools", where)
        for found in results:
            add("tool", result=found)
        if text or made or not results:
            add("system" if role == "developer" else role, text, made)
    return steps


def requirements_of(value: Any, field: str = "requirements") -> list[str]:
    """Requirements: a list of non-empty texts (one text is one requirement)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise TrajectoryError("must be a non-empty list of texts (the checks)", field)
    for i, text in enumerate(value):
        if not isinstance(text, str) or not text.strip():
            raise TrajectoryError("must be a non-empty text", f"{field}[{i}]")
    return [text.strip() for text in value]
