"""Amazon's Selling Partner API as the product sees it.

``gateway`` is the one module that calls SP-API operations (``Gateway``), over the library clients configured in
``client`` (the only module that relies on python-amazon-sp-api's internals); what it reads is turned into the shapes
of ``normalise`` (orders, pages of orders) and ``reports``, and every failure is an ``errors.AmazonError``. Retries
follow the policy of ``saleschannel.amazon.retrying``.
"""
