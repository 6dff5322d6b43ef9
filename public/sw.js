// Beatbook's service worker. The server prepends `self.BEATBOOK_BUILD = {version, precache}` at
// start-up: the content-hashed bundle, icons, manifest and the data-free offline shell of the
// running build. See docs/ARCHITECTURE.md ("Offline shell").
//
// Rules:
// - The app shell is precached at install, into a cache named after the build.
// - Navigations go to the network first (pages are per-user and `no-store`, never cached here);
//   with no answer within NAVIGATION_TIMEOUT_MS, or none at all, the offline shell is served and
//   the app renders the route client-side from the device store.
// - Precached files are served from the cache; everything else (the API) passes through.
// - A new version waits: it activates only when the page asks (the user tapped "Reload now").
'use strict';

const BUILD = self.BEATBOOK_BUILD;
const CACHE_PREFIX = 'beatbook-shell-';
const CACHE = CACHE_PREFIX + BUILD.version;
const SHELL_URL = '/shell';
const NAVIGATION_TIMEOUT_MS = 4000;
const PRECACHED = new Set(BUILD.precache.map((entry) => entry.url));

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
        names.filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE).map((name) => caches.delete(name)),
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

async function offlineShell() {
  const cache = await caches.open(CACHE);
  const shell = await cache.match(SHELL_URL);
  return shell || new Response('Beatbook is offline and its app shell is not stored yet.', {
    status: 503,
    headers: { 'Content-Type': 'text/plain; charset=utf-8' },
  });
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (request.mode === 'navigate') {
    event.respondWith(withTimeout(fetch(request), NAVIGATION_TIMEOUT_MS).catch(offlineShell));
    return;
  }
  if (PRECACHED.has(url.pathname)) {
    event.respondWith(
      caches.open(CACHE).then((cache) => cache.match(url.pathname)).then((hit) => hit || fetch(request)),
    );
  }
});
