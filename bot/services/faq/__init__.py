"""Citizen FAQ domain: catalogue of procedures and topics, acceptance policy, matcher.

Plain Python: no chat framework, no database, no HTTP. Handlers and the CLI call
``Matcher``, ``Policy`` and ``match_record``; storage keeps the loaded catalogue.
"""
