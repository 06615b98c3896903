"""The map scaffold, built with folium and served without any outside host.

folium writes the Leaflet set-up (map, layer groups, layer control, QPV outlines);
the layers that depend on the facts are filled afterwards by ``static/js/map-page.js``
from compact JSON, so the scaffold's size depends on the patrimoine, never on the
number of facts. Two departures from folium's defaults:

- every JavaScript and CSS file folium would take from a CDN is replaced by a copy
  vendored under ``static/vendor/`` (:data:`LOCAL_ASSETS`); an asset without a local
  copy raises instead of silently reaching a CDN;
- only folium's *script* is used, served as a JavaScript file by the app, and only
  its map ``<div>`` goes into the page: its HTML header (which would force
  ``html, body`` to full height and forbid zooming the page) is not, and no inline
  script is needed, so a strict Content-Security-Policy holds.

branca (folium's base) has no public way to walk an element's children nor to name
an element, and both are needed (to localise every asset, to draw stable names):
:func:`_elements` and :func:`_name` are the only two places that touch its private
attributes, and pyproject.toml pins folium and branca to the versions tested.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import HeatMap, MarkerCluster
from folium.template import Template

logger = logging.getLogger(__name__)

#: folium's asset names → files under ``static/`` (each vendored from npm with its
#: LICENSE and VERSION). folium's jQuery, Bootstrap and Font Awesome are left out:
#: nothing on these maps uses them.
LOCAL_ASSETS: dict[str, str] = {
    "leaflet": "vendor/leaflet/leaflet.js",
    "leaflet_css": "vendor/leaflet/leaflet.css",
    "markerclusterjs": "vendor/leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": "vendor/leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "vendor/leaflet.markercluster/MarkerCluster.Default.css",
    "leaflet-heat.js": "vendor/leaflet.heat/leaflet-heat.js",
}
#: Assets the map needs whatever folium says (the Map element lists CDN extras).
MAP_ASSETS = (("leaflet", "leaflet_css"),)

#: Names of the layers map-page.js fills, in the layer control's order.
LAYER_NAMES: dict[str, str] = {
    "hex": "Densité des faits (hexagones)",
    "gi": "Points chauds et froids",
    "heat": "Carte de chaleur",
    "residences": "Résidences : faits pour 100 logements",
    "qpv": "Quartiers prioritaires (QPV)",
    "facts": "Faits un par un (vue resserrée)",
}
#: Layers shown when the page opens.
SHOWN_LAYERS = frozenset({"hex", "gi", "residences", "qpv", "facts"})

QPV_STYLE = {
    "color": "#7a1fa2",
    "weight": 2,
    "opacity": 0.9,
    "dashArray": "6 4",
    "fill": True,
    "fillColor": "#7a1fa2",
    "fillOpacity": 0.04,
}


class LocalAssetMissing(RuntimeError):
    """Raised when a folium element needs a JS/CSS file that is not vendored."""


class _Registry(MacroElement):
    """Expose the map and its layers to map-page.js as ``window.orfiMaps[key]``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.orfiMaps = window.orfiMaps || {};
        window.orfiMaps[{{ this.key|tojson }}] = {
            map: {{ this._parent.get_name() }},
            control: {{ this.control.get_name() }},
            layers: {
            {%- for key, layer in this.layers.items() %}
                {{ key|tojson }}: {{ layer.get_name() }},
            {%- endfor %}
            }
        };
        document.dispatchEvent(
            new CustomEvent("orfi:map-ready", {detail: {{ this.key|tojson }}})
        );
        {% endmacro %}
        """
    )

    def __init__(self, key: str, layers: dict, control):
        super().__init__()
        self._name = "OrfiRegistry"
        self.key = key
        self.layers = layers
        self.control = control


@dataclass(frozen=True)
class Scaffold:
    """A rendered map: its ``<div>``, its script, and the assets it needs (URLs)."""

    html: str
    script: str
    js: tuple[str, ...]
    css: tuple[str, ...]


def build_map_scaffold(
    *,
    bounds: tuple[tuple[float, float], tuple[float, float]] | None,
    qpv: dict,
    static_url: Callable[[str], str],
    tile_url: str = "",
    tile_attribution: str = "",
    key: str = "orfi",
) -> folium.Map:
    """Return the folium map the map page starts from.

    Parameters
    ----------
    bounds : tuple or None
        ((south, west), (north, east)) in degrees, the view to open on (folium's
        [lat, lon] order); None opens on metropolitan France.
    qpv : dict
        GeoJSON FeatureCollection of QPV outlines (:func:`orfi.geo.qpv.qpv_outlines`).
    static_url : callable
        Turns a path under ``static/`` into a URL (Flask's ``url_for('static', ...)``).
    tile_url, tile_attribution : str
        An optional tile server (``ORFI_TILE_URL``); none by default, so that the
        page asks nothing of any outside host.
    key : str
        Identifier of the map for map-page.js, and of its ``<div>`` (``map_<key>``).

    Returns
    -------
    folium.Map
        Empty layer groups for the facts' layers, the QPV outlines, a layer control
        and the initial view.
    """
    m = folium.Map(
        location=[46.6, 2.4],
        zoom_start=6,
        tiles=None,
        control_scale=True,
        prefer_canvas=True,
    )
    # folium gives zoom limits to its tile layer only; without tiles, Leaflet needs
    # them on the map itself (fitBounds throws "Map has no maxZoom specified").
    m.options.update(min_zoom=5, max_zoom=19)
    _name(m, key)
    if tile_url:
        folium.TileLayer(
            tiles=tile_url,
            attr=tile_attribution or " ",
            name="Fond de carte",
            overlay=False,
            control=False,
            max_zoom=19,
        ).add_to(m)
    layers = _add_layers(m, qpv)
    control = folium.LayerControl(collapsed=True, position="topright").add_to(m)
    if bounds is not None:
        m.fit_bounds([list(bounds[0]), list(bounds[1])], max_zoom=16)
    _Registry(key, layers, control).add_to(m)
    localise_assets(m, static_url)
    # Stable names (folium draws random ones): the same perimeter always gives the
    # same script, which the browser may then keep in its cache.
    for rank, element in enumerate(_elements(m)):
        if element is not m:
            _name(element, f"{key}{rank}")
    return m


def _add_layers(m: folium.Map, qpv: dict) -> dict[str, object]:
    """Add the page's layers to ``m``, empty but for the QPV outlines; return them.

    Parameters
    ----------
    m : folium.Map
        The map being built.
    qpv : dict
        GeoJSON FeatureCollection of QPV outlines.

    Returns
    -------
    dict
        Layer name (as in ``LAYER_NAMES``) → its folium layer.
    """
    layers: dict[str, object] = {}
    for name in ("hex", "gi"):
        layers[name] = folium.FeatureGroup(
            name=LAYER_NAMES[name], show=name in SHOWN_LAYERS
        ).add_to(m)
    layers["heat"] = HeatMap(
        [],
        name=LAYER_NAMES["heat"],
        show="heat" in SHOWN_LAYERS,
        radius=22,
        blur=18,
        min_opacity=0.3,
        max_zoom=17,
    ).add_to(m)
    layers["residences"] = folium.FeatureGroup(
        name=LAYER_NAMES["residences"], show="residences" in SHOWN_LAYERS
    ).add_to(m)
    qpv_layer = folium.FeatureGroup(
        name=LAYER_NAMES["qpv"], show="qpv" in SHOWN_LAYERS
    ).add_to(m)
    if qpv.get("features"):
        folium.GeoJson(
            qpv,
            name="qpv-outlines",
            style_function=lambda _feature: QPV_STYLE,
            control=False,
        ).add_to(qpv_layer)
    layers["qpv"] = qpv_layer
    layers["facts"] = MarkerCluster(
        name=LAYER_NAMES["facts"],
        show="facts" in SHOWN_LAYERS,
        options={
            "showCoverageOnHover": False,
            "maxClusterRadius": 50,
            "spiderfyOnMaxZoom": True,
            "chunkedLoading": True,
        },
    ).add_to(m)
    return layers


def _elements(element) -> Iterator:
    """Yield the element and all its descendants, parents first (branca internals)."""
    yield element
    for child in element._children.values():
        yield from _elements(child)


def _name(element, suffix: str) -> None:
    """Make ``element.get_name()`` end in ``suffix`` instead of a random id (branca
    internals: ``get_name`` is its ``_name`` and ``_id``)."""
    element._id = suffix


def localise_assets(m: folium.Map, static_url: Callable[[str], str]) -> None:
    """Point every JS/CSS file of the map's elements at its vendored copy.

    Parameters
    ----------
    m : folium.Map
        A map whose elements are all added.
    static_url : callable
        Path under ``static/`` → URL.

    Raises
    ------
    LocalAssetMissing
        If an element needs a file that :data:`LOCAL_ASSETS` does not provide.
    """
    for element in _elements(m):
        if not isinstance(element, JSCSSMixin):
            continue
        if isinstance(element, folium.Map):
            js_names, css_names = ["leaflet"], ["leaflet_css"]
        else:
            js_names = [name for name, _url in element.default_js]
            css_names = [name for name, _url in element.default_css]
        for names, attribute in ((js_names, "default_js"), (css_names, "default_css")):
            missing = [n for n in names if n not in LOCAL_ASSETS]
            if missing:
                raise LocalAssetMissing(
                    f"{type(element).__name__} needs {missing}: vendor them under "
                    "static/vendor/ and list them in LOCAL_ASSETS."
                )
            # An instance attribute: folium's class-level lists stay untouched.
            setattr(
                element,
                attribute,
                [(n, static_url(LOCAL_ASSETS[n])) for n in names],
            )


def render_scaffold(m: folium.Map) -> Scaffold:
    """Render the map: the ``<div>`` for the page and the script for a .js file.

    Parameters
    ----------
    m : folium.Map
        Output of :func:`build_map_scaffold` (or any map whose assets are local).

    Returns
    -------
    Scaffold
        ``html`` (the map's ``<div>``), ``script`` (JavaScript, no ``<script>`` tag)
        and the asset URLs in folium's order, without duplicates.
    """
    figure = m.get_root()
    figure.render()
    js: list[str] = []
    css: list[str] = []
    for element in _elements(m):
        if isinstance(element, JSCSSMixin):
            js += [url for _n, url in element.default_js if url not in js]
            css += [url for _n, url in element.default_css if url not in css]
    # Indentation is folium's template layout, not data: drop it and the blank lines.
    lines = (line.strip() for line in figure.script.render().splitlines())
    script = "\n".join(line for line in lines if line)
    html = f'<div class="folium-map" id="{m.get_name()}"></div>'
    return Scaffold(html=html, script=script, js=tuple(js), css=tuple(css))
