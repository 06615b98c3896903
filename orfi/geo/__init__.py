"""Geographic helpers without Flask: plain values, GeoDataFrames, folium maps."""
