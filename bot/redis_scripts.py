"""Lua for locks held by one owner in Redis: renew or release only while the key is still ours.

A plain PEXPIRE or DEL after a pause (GC, a slow handler) could extend or delete a lock that
has meanwhile lapsed and been taken by another instance; the owner's token guards both.
"""

from __future__ import annotations

RENEW_IF_OWNER = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
)
RELEASE_IF_OWNER = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) else return 0 end"
)
