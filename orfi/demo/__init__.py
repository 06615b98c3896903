"""The demo world: bailleurs around Toulouse QPVs, their people and facts."""
