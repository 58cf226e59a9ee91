"""The SP-API sandbox: a local stand-in for Amazon, in its own process with its own storage (DESIGN §7).

It is not a Django app: it never touches the product's database. ``saleschannel sandbox`` (or
``python -m saleschannel.sandbox``) starts it; :mod:`saleschannel.sandbox.testing` starts it from tests.
"""
