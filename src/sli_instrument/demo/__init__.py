"""``sli-instrument demo``: the example shop, realistic traffic, an incident, a live SLO view.

Not part of the library's API: it imports Flask or Django (the example apps) and lives here so
that ``sli-instrument demo`` works from an installed package as well as from a checkout.
"""
