"""The Zalo Official Account channel for citizens.

- `protocol`: every Zalo API fact (paths, fields, signature, limits, error codes) with sources;
- `webhook`: signature check over the raw body, acknowledgement, de-duplication;
- `messenger`: the core's messages out through the OA API (plain text, parts, buttons);
- `tokens`: the single-use refresh token, rotated and persisted;
- `contacts`: the 48-hour reply window;
- `runtime`: `ZaloRuntime`, which wires them to the core.
"""
