"""Routes updates to handlers: commands, typed button presses, conversation steps, free text.

Small on purpose, in the spirit of aiogram's router tree: handlers register with
decorators, first match wins, and the permission a route needs is declared with it so the
guard is applied in one place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.core.callbacks import CallbackData
from bot.core.events import ChatKind, Incoming

if TYPE_CHECKING:
    from bot.core.context import Ctx

Handler = Callable[["Ctx"], Awaitable[None]]
CallbackHandler = Callable[["Ctx", Any], Awaitable[None]]
TextFilter = Callable[[Incoming], bool]


@dataclass(frozen=True)
class CommandRoute:
    names: tuple[str, ...]
    handler: Handler
    permission: str | None
    description_key: str | None
    chats: frozenset[ChatKind]
    menu: bool


@dataclass(frozen=True)
class CallbackRoute:
    data_type: type[CallbackData]
    handler: CallbackHandler
    permission: str | None


@dataclass(frozen=True)
class StepRoute:
    flow: str
    step: str
    handler: Handler


@dataclass(frozen=True)
class TextRoute:
    handler: Handler
    permission: str | None
    chats: frozenset[ChatKind]
    where: TextFilter | None


ALL_CHATS = frozenset(ChatKind)
PRIVATE = frozenset({ChatKind.PRIVATE})


@dataclass
class Router:
    name: str
    commands: list[CommandRoute] = field(default_factory=list)
    callbacks: list[CallbackRoute] = field(default_factory=list)
    steps: list[StepRoute] = field(default_factory=list)
    texts: list[TextRoute] = field(default_factory=list)
    documents: list[TextRoute] = field(default_factory=list)
    children: list[Router] = field(default_factory=list)

    def include(self, *routers: Router) -> None:
        self.children.extend(routers)

    def command(
        self,
        *names: str,
        permission: str | None = None,
        description: str | None = None,
        chats: frozenset[ChatKind] = ALL_CHATS,
        menu: bool = True,
    ) -> Callable[[Handler], Handler]:
        """Register `/name` (English) and its Vietnamese alias; `description` is a message key."""

        def register(handler: Handler) -> Handler:
            lowered = tuple(n.lower() for n in names)
            self.commands.append(
                CommandRoute(lowered, handler, permission, description, chats, menu)
            )
            return handler

        return register

    def callback(
        self, data_type: type[CallbackData], *, permission: str | None = None
    ) -> Callable[[CallbackHandler], CallbackHandler]:
        def register(handler: CallbackHandler) -> CallbackHandler:
            self.callbacks.append(CallbackRoute(data_type, handler, permission))
            return handler

        return register

    def step(self, flow: str, step: str) -> Callable[[Handler], Handler]:
        """The handler for a message that answers the question `step` of conversation `flow`."""

        def register(handler: Handler) -> Handler:
            self.steps.append(StepRoute(flow, step, handler))
            return handler

        return register

    def text(
        self,
        *,
        permission: str | None = None,
        chats: frozenset[ChatKind] = PRIVATE,
        where: TextFilter | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.texts.append(TextRoute(handler, permission, chats, where))
            return handler

        return register

    def document(
        self, *, permission: str | None = None, chats: frozenset[ChatKind] = PRIVATE
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.documents.append(TextRoute(handler, permission, chats, None))
            return handler

        return register

    def walk(self) -> Iterator[Router]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class RouteTable:
    """The flattened tree, indexed once at start-up so dispatch is a dict lookup."""

    commands: dict[str, CommandRoute]
    callbacks: dict[str, CallbackRoute]
    steps: dict[tuple[str, str], StepRoute]
    texts: tuple[TextRoute, ...]
    documents: tuple[TextRoute, ...]
    menu: tuple[CommandRoute, ...]

    @classmethod
    def build(cls, root: Router) -> RouteTable:
        commands: dict[str, CommandRoute] = {}
        callbacks: dict[str, CallbackRoute] = {}
        steps: dict[tuple[str, str], StepRoute] = {}
        texts: list[TextRoute] = []
        documents: list[TextRoute] = []
        menu: list[CommandRoute] = []
        for router in root.walk():
            for route in router.commands:
                for name in route.names:
                    if name in commands:
                        raise ValueError(f"command /{name} registered twice")
                    commands[name] = route
                if route.menu and route.description_key:
                    menu.append(route)
            for cb in router.callbacks:
                if cb.data_type.prefix in callbacks:
                    raise ValueError(f"callback prefix {cb.data_type.prefix!r} registered twice")
                callbacks[cb.data_type.prefix] = cb
            for st in router.steps:
                steps[(st.flow, st.step)] = st
            texts.extend(router.texts)
            documents.extend(router.documents)
        return cls(commands, callbacks, steps, tuple(texts), tuple(documents), tuple(menu))

    def find_callback(self, data: str) -> CallbackRoute | None:
        return self.callbacks.get(data.split(":", 1)[0])
