"""Amazon's Selling Partner API as the product sees it: errors and the normalised order shapes.

The gateway (``saleschannel.amazon.spapi.gateway``) is still the one module that talks HTTP to Amazon; what it reads is
turned into the shapes of ``normalise`` here, and every failure is an ``errors.AmazonError``.
"""
