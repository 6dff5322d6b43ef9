// Beatbook's service worker. The server prepends `self.BEATBOOK_BUILD = {version, precache}` at
// start-up: the content-hashed bundle, icons, manifest and the data-free offline shell of the
// running build. See docs/ARCHITECTURE.md ("Offline shell").
//
// Rules:
// - The app shell is precached at install, into a cache named after the build.
// - Navigations go to the network first (pages are per-user and `no-store`, never cached here);
//   with no answer within NAVIGATION_TIMEOUT_MS, none at all, or an answer that is not Beatbook's
//   (a proxy's 502/503/504 or a captive portal's page: no BUILD.server_header), the offline shell
//   is served and the app renders the route client-side from the device store.
// - Precached files are served from the cache; everything else (the API) passes through.
// - A new version waits: it activates only when the page asks (the user tapped "Reload now").
// - Background Sync (`sync` event, tag `beatbook-outbox`, registered by the page whenever its
//   outbox holds work): the worker sends the last user's sealed field state, as stored, with the
//   data key as wrapped by the device's server-held key, to `/api/sync/push-sealed`; the server
//   opens it and applies the outbox (each (device, seq) once). The worker holds no key and never
//   writes the device store; the page drops what the server holds at its next pull, as after any
//   lost answer. Then it tells open pages to sync.
// - The basemap (one PMTiles file under /maps/) is read in byte ranges. When the user kept it on
//   the device, the page stored the whole file in the BASEMAP_CACHE; ranges are then answered
//   from that copy (206, sliced here: Cache Storage cannot hold partial responses).
'use strict';

const BUILD = self.BEATBOOK_BUILD;
const CACHE_PREFIX = 'beatbook-shell-';
const CACHE = CACHE_PREFIX + BUILD.version;
const SHELL_URL = '/shell';
const NAVIGATION_TIMEOUT_MS = 4000;
const PRECACHED = new Set(BUILD.precache.map((entry) => entry.url));
const BASEMAP_CACHE = 'beatbook-basemap';

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      // `cache: 'reload'` bypasses the HTTP cache so the shell is exactly this build's.
      cache.addAll(BUILD.precache.map((entry) => new Request(entry.url, { cache: 'reload' }))),
    ),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names
          .filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE)
          .map((name) => caches.delete(name)),
      );
      // Take control of pages opened before this worker existed (first install only: an update
      // reaches this point only after the user agreed to reload).
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'SKIP_WAITING') {
    self.skipWaiting();
  }
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

// Beatbook's server marks every answer it sends; a redirect's headers cannot be read here (the
// browser follows it, and the page it leads to comes through this worker again).
function fromBeatbook(response) {
  return response.type === 'opaqueredirect' || response.headers.has(BUILD.server_header);
}

async function offlineShell() {
  const cache = await caches.open(CACHE);
  const shell = await cache.match(SHELL_URL);
  return shell || new Response('Beatbook is offline and its app shell is not stored yet.', {
    status: 503,
    headers: { 'Content-Type': 'text/plain; charset=utf-8' },
  });
}

// Answers `Range: bytes=a-b` (or `a-`, or `-n`) from a stored whole-file response.
async function rangeFromCopy(request, stored) {
  const blob = await stored.blob();
  const header = request.headers.get('Range');
  const size = blob.size;
  if (!header) {
    return new Response(blob, { status: 200, headers: { 'Content-Type': stored.headers.get('Content-Type') || '' } });
  }
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  let start;
  let end;
  if (m && m[1] !== '') {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  } else if (m && m[2] !== '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  }
  if (start === undefined || start > end || start >= size) {
    return new Response('', { status: 416, headers: { 'Content-Range': `bytes */${size}` } });
  }
  return new Response(blob.slice(start, end + 1), {
    status: 206,
    headers: {
      'Content-Type': stored.headers.get('Content-Type') || 'application/vnd.pmtiles',
      'Content-Range': `bytes ${start}-${end}/${size}`,
      'Content-Length': String(end - start + 1),
    },
  });
}

async function basemapRange(request) {
  const cache = await caches.open(BASEMAP_CACHE);
  const stored = await cache.match(request.url, { ignoreVary: true });
  if (stored) return rangeFromCopy(request, stored);
  return fetch(request);
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (request.mode === 'navigate') {
    event.respondWith(
      withTimeout(fetch(request), NAVIGATION_TIMEOUT_MS)
        .then((response) => (fromBeatbook(response) ? response : offlineShell()))
        .catch(offlineShell),
    );
    return;
  }
  if (url.pathname.startsWith('/maps/')) {
    event.respondWith(basemapRange(request));
    return;
  }
  if (PRECACHED.has(url.pathname)) {
    event.respondWith(
      caches.open(CACHE).then((cache) => cache.match(url.pathname)).then((hit) => hit || fetch(request)),
    );
  }
});

// ---- Background Sync ---------------------------------------------------------------------------

const SYNC_TAG = 'beatbook-outbox';
const SCHEMA_VERSION = BUILD.schema_version;
const MAX_PUSH_BYTES = BUILD.max_push_bytes;

function readDeviceStore(key) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('beatbook');
    open.onerror = () => reject(open.error);
    // No store yet: nothing to push (and do not create one here).
    open.onupgradeneeded = () => {
      open.transaction.abort();
      resolve(undefined);
    };
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains('cache')) {
        db.close();
        resolve(undefined);
        return;
      }
      const get = db.transaction('cache').objectStore('cache').get(key);
      get.onsuccess = () => {
        db.close();
        resolve(get.result);
      };
      get.onerror = () => {
        db.close();
        reject(get.error);
      };
    };
  });
}

async function pushOutbox() {
  const user = await readDeviceStore('field-last-user');
  if (typeof user !== 'string') return;
  const name = JSON.parse(user);
  const raw = await readDeviceStore('field-state:' + name);
  let doc;
  try {
    doc = JSON.parse(raw);
  } catch (_) {
    return;
  }
  if (doc && doc.sealed === 1) {
    // The store is sealed and this worker holds no key: the server opens it with the device's
    // server-held key (which wraps the data key) and applies the outbox as a push would.
    const record = JSON.parse((await readDeviceStore('device-keys:' + name)) || 'null');
    if (!record || !record.server) return;
    const response = await fetch('/api/sync/push-sealed', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ device_id: record.device_id, key: record.server, state: { iv: doc.iv, ct: doc.ct } }),
    });
    // A network failure rejects (the browser retries later); a refusal is left to the page.
    return response.ok;
  }
  const state = doc;
  const pending = (state && state.outbox && state.outbox.pending) || [];
  // Batches as the page makes them (protocol::sync::Outbox::batch): at most 50 mutations and,
  // after the first, MAX_PUSH_BYTES of JSON.
  for (let i = 0; i < pending.length; ) {
    const mutations = [];
    let bytes = 0;
    while (i < pending.length && mutations.length < 50) {
      const size = JSON.stringify(pending[i]).length + 1;
      if (mutations.length > 0 && bytes + size > MAX_PUSH_BYTES) break;
      bytes += size;
      mutations.push(pending[i]);
      i += 1;
    }
    const body = { schema_version: SCHEMA_VERSION, device_id: state.device_id, mutations };
    // A network failure rejects: the browser retries the sync later.
    const response = await fetch('/api/sync/push', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) return; // signed out, a gap, refused: the page deals with it when opened
  }
}

self.addEventListener('sync', (event) => {
  if (event.tag !== SYNC_TAG) return;
  event.waitUntil(
    pushOutbox().then(async () => {
      const pages = await self.clients.matchAll({ type: 'window' });
      pages.forEach((page) => page.postMessage({ type: 'SYNC' }));
    }),
  );
});
