"""Mock chat server: a Telegram Bot API subset plus a control API and a browser playground.

Start one with `MockServer` (tests) or `serve_forever` (`congvu mockserver`, or
`python -m bot.mockserver`); see `server.py`.
"""

from bot.mockserver.server import MockServer, create_app, serve_forever
from bot.mockserver.state import MockState

__all__ = ["MockServer", "MockState", "create_app", "serve_forever"]
