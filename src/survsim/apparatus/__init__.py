"""The apparatus that watches the people: channels, cases, agencies, punishment,
informant recruitment, border teams and the policy timeline (docs/odd.md 4.7-4.9)."""
