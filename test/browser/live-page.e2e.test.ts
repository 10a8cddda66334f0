import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LIVE_PAGE_BUDGET_BYTES } from '../../src/tracker/page.js';
import { fetchMetrics, freePort, killAllCli, startCli } from '../cli/cli.js';
import { describeWhere } from '../support/requires.js';
import { waitFor } from '../support/process.js';

/**
 * The live page as a person sees it: Debian's Chromium, headless, driven by
 * playwright-core (no browser of its own downloaded), on the page of a real
 * `demo` (a steady service, a sawtooth and one that crashes every 20 s and is
 * restarted). CI installs chromium (.ci/run); without it this fails under CI.
 */
const CHROMIUM = '/usr/bin/chromium';

function missing(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    return `needs ${CHROMIUM} (apt-get install chromium)`;
  }
  try {
    createRequire(import.meta.url).resolve('playwright-core');
  } catch {
    return 'needs the playwright-core package (npm ci)';
  }
  return undefined;
}

describeWhere(missing(), 'the live page in Chromium', () => {
  let browser: Browser | undefined;
  const theBrowser = (): Browser => browser ?? expect.fail('Chromium did not start');
  let port = 0;
  const problems: string[] = [];

  beforeAll(async () => {
    port = await freePort();
    startCli(['demo', '-i', '500ms', '--json', '--prometheus', `127.0.0.1:${port}`]);
    await waitFor(async () => (await fetchMetrics(port)).includes('service_name="crashy"'), { what: 'the demo', timeoutMs: 20_000 });
    const { chromium } = await import('playwright-core');
    // Root in a container has no user namespaces for Chromium's sandbox.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await killAllCli();
  });

  /** A new page on the demo's `/`, with what it logs as an error (a CSP refusal, an exception) collected. */
  async function openPage(options: Parameters<Browser['newPage']>[0] = {}): Promise<Page> {
    const page = await theBrowser().newPage(options);
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const response = await page.goto(`http://127.0.0.1:${port}/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/default-src 'none'/);
    expect(Number(response?.headers()['content-length'])).toBeLessThanOrEqual(LIVE_PAGE_BUDGET_BYTES);
    return page;
  }

  const stateOf = (page: Page, name: string): Promise<string | null> =>
    page.locator(`section[data-service="${name}"]`).getAttribute('data-state', { timeout: 15_000 });

  it('lists every service, draws charts that gain points, and shows a crash as failed, then running again', async () => {
    const page = await openPage({ viewport: { width: 1000, height: 700 } });
    await page.locator('#conn.live').waitFor({ timeout: 15_000 });
    await waitFor(async () => (await page.locator('section[data-service]').count()) === 3, { what: 'three services on the page' });
    expect(await page.locator('section[data-service] .name').allTextContents()).toEqual(['crashy', 'sawtooth-memory', 'steady-cpu']);
    expect(await stateOf(page, 'steady-cpu')).toBe('running');

    // A chart gains points as samples come.
    const points = (): Promise<number> =>
      page
        .locator('section[data-service="steady-cpu"] .cpu svg')
        .getAttribute('data-points')
        .then((n) => Number(n ?? 0));
    const first = await points();
    await waitFor(async () => (await points()) >= first + 3, { what: 'the CPU chart gaining points' });
    expect(await page.locator('section[data-service="steady-cpu"] .cpu polyline').getAttribute('points')).toMatch(/\d+\.\d,\d+\.\d \d/);

    // The tracker's own figures.
    await page.locator('#tracker[data-ticks]').waitFor({ timeout: 15_000 });
    expect(await page.locator('#tracker').textContent()).toMatch(/3 services, every 500ms, last tick [\d.]+ ms, 0 errors/);

    // crashy exits 1 after about 20 s; the page shows it failed with the reason, then restarted.
    await page.locator('section[data-service="crashy"][data-state="failed"]').waitFor({ timeout: 40_000 });
    expect(await page.locator('section[data-service="crashy"] .error').textContent()).toContain('exited with code 1');
    await page.locator('section[data-service="crashy"][data-state="running"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('section[data-service="crashy"] .facts').textContent()).toMatch(/restarts [1-9]/);

    // What the screen shows is not blank: the pixels of the screenshot vary.
    const shot = await page.screenshot({ type: 'png' });
    const variance = await pixelVariance(shot);
    expect(variance).toBeGreaterThan(100);
    await page.close();
    expect(problems).toEqual([]);
  }, 90_000);

  it('fits a phone screen, and follows a dark colour scheme', async () => {
    const page = await openPage({ viewport: { width: 360, height: 740 }, colorScheme: 'dark', isMobile: true });
    await waitFor(async () => (await page.locator('section[data-service]').count()) === 3, { what: 'three services on the page' });
    // Run in the page: the browser's own types are not this project's.
    const layout = await page.evaluate<{ scrollWidth: number; width: number; background: string }>(
      '({ scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth, background: getComputedStyle(document.body).backgroundColor })',
    );
    expect(layout.scrollWidth).toBeLessThanOrEqual(layout.width);
    // The dark theme's background, not the light one's.
    expect(layout.background).toBe('rgb(13, 17, 23)');
    const variance = await pixelVariance(await page.screenshot({ type: 'png' }));
    expect(variance).toBeGreaterThan(100);
    await page.close();
    expect(problems).toEqual([]);
  });

  /** Variance of the grey level of a PNG's pixels, decoded by the browser on a blank page of its own. */
  async function pixelVariance(png: Buffer): Promise<number> {
    const page = await theBrowser().newPage();
    try {
      return await page.evaluate<number>(`(async () => {
        const bytes = Uint8Array.from(atob(${JSON.stringify(png.toString('base64'))}), (c) => c.charCodeAt(0));
        const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        const context = canvas.getContext('2d');
        context.drawImage(bitmap, 0, 0);
        const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
        let sum = 0;
        let squares = 0;
        const n = data.length / 4;
        for (let i = 0; i < data.length; i += 4) {
          const grey = (data[i] + data[i + 1] + data[i + 2]) / 3;
          sum += grey;
          squares += grey * grey;
        }
        const mean = sum / n;
        return squares / n - mean * mean;
      })()`);
    } finally {
      await page.close();
    }
  }
});
