"""The people under surveillance: population, conversations, speech, listening, beliefs."""
