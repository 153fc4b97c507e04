"""The apparatus that watches the people (docs/odd.md 4.7-4.9).

Channels, cases, agencies, punishment, informant recruitment, border teams and the
policy timeline.
"""
