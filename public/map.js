// Beatbook's map layer over Leaflet (vendor/leaflet.js), pmtiles (vendor/pmtiles.js) and
// supercluster (vendor/supercluster.js). The Rust side (app/src/map.rs) loads these files on a
// screen's first map and calls the functions below; everything else is leptos-leaflet.
'use strict';

(function () {
  const L = window.L;

  // The department's basemap: raster tiles read from one PMTiles file with HTTP Range requests.
  // Offline, the service worker answers the same ranges from its stored copy of the file.
  function basemap(map, url, attribution, minZoom, maxZoom) {
    const source = new window.pmtiles.PMTiles(url);
    const layer = window.pmtiles.leafletRasterLayer(source, {
      attribution: attribution,
      minNativeZoom: minZoom,
      maxNativeZoom: maxZoom,
      maxZoom: 20,
    });
    layer.addTo(map);
    return layer;
  }

  // The department's online XYZ tile service, over the basemap file: with no signal its tiles
  // fail quietly and the file (or the plain background) shows through. The service worker
  // stores nothing from another origin.
  function tiles(map, template, attribution) {
    const layer = L.tileLayer(template, { attribution: attribution, maxZoom: 19, className: 'online-tiles' });
    layer.addTo(map);
    return layer;
  }

  // District outlines (GeoJSON FeatureCollection): drawn under everything, not clickable.
  function outlines(map, collection) {
    const layer = L.geoJSON(collection, {
      interactive: false,
      style: { color: '#0b2545', weight: 2, opacity: 0.7, fill: false, className: 'district-outline' },
    });
    layer.addTo(map);
    return layer;
  }

  // Shaded micro places: a FeatureCollection whose features carry `fill` (a colour), `key` and
  // `label`. `onClick(key)` is called when one is tapped. Returns the layer (pass it to remove).
  function cells(map, collection, onClick) {
    const renderer = L.canvas({ padding: 0.2 });
    const layer = L.geoJSON(collection, {
      renderer: renderer,
      style: (feature) => ({
        color: feature.properties.stroke || '#334155',
        weight: feature.properties.selected ? 3 : 0.5,
        fillColor: feature.properties.fill,
        fillOpacity: feature.properties.opacity === undefined ? 0.55 : feature.properties.opacity,
      }),
      onEachFeature: (feature, path) => {
        if (feature.properties.label) {
          path.bindTooltip(feature.properties.label, { sticky: true });
        }
        if (onClick) {
          path.on('click', () => onClick(feature.properties.key));
        }
      },
    });
    layer.addTo(map);
    return layer;
  }

  // Incident points ([lon, lat, lon, lat, ...] as a Float64Array), clustered when dense: one
  // circle per cluster with its count, single incidents as small dots. Re-clustered on every
  // pan and zoom from a spatial index built once.
  function points(map, coords) {
    const features = new Array(coords.length / 2);
    for (let i = 0; i < features.length; i++) {
      features[i] = { type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [coords[2 * i], coords[2 * i + 1]] } };
    }
    const index = new window.Supercluster({ radius: 50, maxZoom: 17, minPoints: 3 }).load(features);
    const renderer = L.canvas({ padding: 0.2 });
    const group = L.layerGroup().addTo(map);
    function draw() {
      group.clearLayers();
      const b = map.getBounds();
      const zoom = Math.round(map.getZoom());
      const found = index.getClusters([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], zoom);
      for (const f of found) {
        const [lon, lat] = f.geometry.coordinates;
        if (f.properties.cluster) {
          const n = f.properties.point_count;
          const r = 8 + Math.min(22, Math.sqrt(n));
          L.circleMarker([lat, lon], {
            renderer: renderer,
            radius: r,
            color: '#1e3a8a',
            weight: 1,
            fillColor: '#3b82f6',
            fillOpacity: 0.55,
          })
            .bindTooltip(n + ' incidents', { direction: 'top' })
            .addTo(group);
        } else {
          L.circleMarker([lat, lon], { renderer: renderer, radius: 3, color: '#1e3a8a', weight: 1, fillOpacity: 0.9 }).addTo(group);
        }
      }
      map.getContainer().dataset.clusters = String(found.length);
    }
    map.on('moveend', draw);
    draw();
    return {
      remove() {
        map.off('moveend', draw);
        group.remove();
      },
    };
  }

  // A place chosen by tapping: `onPick(lat, lon)` on every tap, until the returned handle is
  // removed. Drawing the chosen place is the caller's (it knows the radius).
  function pick(map, onPick) {
    const tap = (e) => onPick(e.latlng.lat, e.latlng.lng);
    map.on('click', tap);
    map.getContainer().style.cursor = 'crosshair';
    return {
      remove() {
        map.off('click', tap);
        map.getContainer().style.cursor = '';
      },
    };
  }

  // Removes a layer returned by any function above.
  function remove(layer) {
    if (layer && typeof layer.remove === 'function') {
      layer.remove();
    }
  }

  function fit(map, south, west, north, east) {
    map.fitBounds([
      [south, west],
      [north, east],
    ]);
  }

  // Keeping the basemap on the device: the whole file goes into Cache Storage, where the service
  // worker answers the map's byte ranges from it. Older versions of the file are dropped.
  const BASEMAP_CACHE = 'beatbook-basemap';

  async function keepOffline(url) {
    const absolute = new URL(url, window.location.href).href;
    const response = await fetch(absolute, { cache: 'reload' });
    if (response.status !== 200) {
      throw new Error('the basemap could not be downloaded (HTTP ' + response.status + ')');
    }
    const cache = await caches.open(BASEMAP_CACHE);
    await cache.put(absolute, response);
    for (const request of await cache.keys()) {
      if (request.url !== absolute) await cache.delete(request);
    }
    if (navigator.storage && navigator.storage.persist) {
      await navigator.storage.persist();
    }
    return offlineCopy(url);
  }

  // What the device holds of this basemap: `{ bytes, saved }`, or null.
  async function offlineCopy(url) {
    if (!window.caches) return null;
    const cache = await caches.open(BASEMAP_CACHE);
    const hit = await cache.match(new URL(url, window.location.href).href);
    if (!hit) return null;
    const blob = await hit.blob();
    return { bytes: blob.size, saved: hit.headers.get('Date') || '' };
  }

  window.BeatbookMap = { basemap, tiles, outlines, cells, points, pick, remove, fit, keepOffline, offlineCopy };
})();
