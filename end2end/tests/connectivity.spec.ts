import { test, expect, type Page } from '@playwright/test';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { devicePage, fieldReady, issueAndAssign, signIn, unlock } from './helpers';

// Each way a field device loses its server, and the way back. The device reaches Beatbook
// through a small HTTP server this test starts: it passes requests through, or answers the way a
// broken proxy (503) or a hotel's captive portal (200, its own page) would, while the browser
// still has a network. The header's badge says which ("No signal", "Server unreachable"), work
// waits on the device, and it reaches the server exactly once when Beatbook answers again.
// D4's officer 2 (phone) and D4's sergeant (tablet), shift B on 30/31 Dec: no other spec uses them.

const phone = () => test.info().project.name === 'phone';
const shift = () => ({ district: 'D4', shift: 'B', shift_date: phone() ? '2020-12-30' : '2020-12-31' });
const missionId = () => `0193b3c4-0000-7000-8d00-${phone() ? 'a' : 'b'}00000000010`;
/** The app probes `/healthz` this often while online (app::connectivity::PROBE_ONLINE_MS)... */
const PROBE_ONLINE_MS = 15_000;
/** ...and at most this long apart while not (PROBE_MAX_RETRY_MS). */
const PROBE_MAX_RETRY_MS = 10_000;

type Mode = 'pass' | 'unavailable' | 'portal';

/** A stand-in for whatever sits between the device and Beatbook. */
class Between {
  mode: Mode = 'pass';
  /** Requests answered by something other than Beatbook, by path. */
  intercepted: string[] = [];
  private server?: http.Server;

  constructor(private readonly upstreamPort: number) {}

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      if (this.mode === 'unavailable') {
        this.intercepted.push(req.url ?? '');
        res.writeHead(503, { 'content-type': 'text/html' });
        res.end('<html><body><h1>503 Service Temporarily Unavailable</h1><hr>nginx</body></html>');
        req.resume();
        return;
      }
      if (this.mode === 'portal') {
        this.intercepted.push(req.url ?? '');
        res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' });
        res.end('<html><body><h1>Welcome to Guest Wi-Fi</h1><p>Accept the terms to continue.</p></body></html>');
        req.resume();
        return;
      }
      const upstream = http.request(
        { host: '127.0.0.1', port: this.upstreamPort, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop() {
    this.server?.closeAllConnections();
    await new Promise((ok) => this.server?.close(ok));
  }
}

const badge = (page: Page) => page.getByTestId('connectivity');
const mission = (page: Page) => page.locator(`li.mission[data-mission="${missionId()}"]`);

test('a proxy error or a captive portal is "Server unreachable": work waits, then syncs once; a reload with no signal is "No signal"', async ({ browser }) => {
  test.setTimeout(180_000);
  const direct = test.info().project.use.baseURL!;
  const setup = await devicePage(browser);
  // Phone: an officer starts an assigned mission. Tablet: the sergeant acknowledges an issued one.
  await issueAndAssign(setup, shift(), [missionId()], '402', phone() ? 1 : 0);
  const between = new Between(Number(new URL(direct).port));
  const via = await between.start();
  try {
    const page = await devicePage(browser, { baseURL: via });
    await signIn(page, phone() ? 'd4.officer2' : 'd4.sergeant', '/missions');
    await fieldReady(page);
    await expect(badge(page)).toHaveText('Online');
    await expect(mission(page)).toHaveAttribute('data-status', phone() ? 'assigned' : 'issued');

    // The proxy fails while the browser keeps its network: the badge says so within one probe
    // interval, with nothing done on the page.
    between.mode = 'unavailable';
    await expect(badge(page)).toHaveText('Server unreachable', { timeout: PROBE_ONLINE_MS + 5_000 });

    // Work done now is kept on the device and waits: nothing reaches the server.
    await mission(page).locator('.mission-head').click();
    const step = phone() ? 'Start mission' : 'Acknowledge';
    await mission(page).getByRole('button', { name: step, exact: true }).click();
    await expect(mission(page)).toHaveAttribute('data-status', phone() ? 'in_progress' : 'acknowledged');
    await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', '1');
    await expect(page.getByTestId('sync-status')).toContainText('until the server can be reached');

    // A captive portal answers 200 with its own page: still not Beatbook.
    between.mode = 'portal';
    const seen = between.intercepted.length;
    await expect.poll(() => between.intercepted.slice(seen).includes('/healthz'), { timeout: PROBE_MAX_RETRY_MS + 5_000 }).toBe(true);
    await expect(badge(page)).toHaveText('Server unreachable');
    await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', '1');
    // The page does not push while the server cannot be reached (the service worker's
    // Background Sync may try its sealed push: the proxy answers it, nothing reaches Beatbook).
    expect(between.intercepted.filter((p) => p === '/api/sync/push')).toEqual([]);
    const events = async () => {
      const r = await setup.request.post(`${direct}/api/missions/events`, { data: { id: missionId() } });
      expect(r.status()).toBe(200);
      return (await r.json()).map((e: any) => e.transition as string);
    };
    const wanted = phone() ? 'start' : 'acknowledge';
    expect(await events()).not.toContain(wanted);
    await page.screenshot({ path: test.info().outputPath('server-unreachable.png'), fullPage: true });

    // Beatbook answers again: online within one retry, and the outbox drains, once.
    between.mode = 'pass';
    await expect(badge(page)).toHaveText('Online', { timeout: PROBE_MAX_RETRY_MS + 5_000 });
    await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', '0', { timeout: 30_000 });
    expect((await events()).filter((t) => t === wanted)).toHaveLength(1);

    // The network cut, then a reload: the app opens from the device and says "No signal" (the
    // browser may report itself online after the reload; the failed probe decides).
    await page.context().setOffline(true);
    await page.reload();
    await unlock(page);
    await expect(badge(page)).toHaveText('No signal');
    await expect(mission(page)).toHaveAttribute('data-status', phone() ? 'in_progress' : 'acknowledged');
    // The network back, with no `online` event needed: the next probe finds Beatbook.
    await page.context().setOffline(false);
    await expect(badge(page)).toHaveText('Online', { timeout: PROBE_MAX_RETRY_MS + 5_000 });

    // A reload while the proxy fails opens the app from the device too (the service worker does
    // not show the proxy's page), and says why.
    between.mode = 'unavailable';
    await page.reload();
    await unlock(page);
    await expect(badge(page)).toHaveText('Server unreachable');
    await expect(mission(page)).toBeVisible();
    between.mode = 'pass';
    await expect(badge(page)).toHaveText('Online', { timeout: PROBE_MAX_RETRY_MS + 5_000 });
  } finally {
    await between.stop();
  }
});
