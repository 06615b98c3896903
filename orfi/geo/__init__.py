"""Geographic helpers. Nothing here imports Flask: plain values and GeoDataFrames only."""
