"""Tasks assigned in group chats: the pure domain part.

Nothing here talks to a chat framework, a database or the network, and nothing reads the
system clock: every function that needs "now" takes it as an argument (the injectable
clock's time), so the behaviour is the same in tests and in production.

- :mod:`.deadline`: natural Vietnamese/English deadline phrases → an aware datetime.
- :mod:`.format`: the bot's echo of a deadline ("17:00 thứ Tư 15/04/2020").
- :mod:`.lifecycle`: the task state machine, rights, overdue and listing order, flags.
- :mod:`.assign_parse`: the arguments of ``/assign`` (``/giaoviec``).
"""
