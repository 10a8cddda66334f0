import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_PAGE_BUDGET_BYTES, LIVE_PAGE_CSP, livePage, livePageHtml } from '../../src/tracker/page.js';

/** The live page as served: within its size budget, self-contained, allowed to run only what it carries. */
let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer(livePage({ streamUrl: '/status/events' }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

const hashOf = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

describe('the live page', () => {
  it(`weighs at most ${LIVE_PAGE_BUDGET_BYTES / 1024} KB as served`, async () => {
    const response = await fetch(`${base}/`);
    const body = Buffer.from(await response.arrayBuffer());
    expect(response.status).toBe(200);
    expect(body.length).toBeLessThanOrEqual(LIVE_PAGE_BUDGET_BYTES);
    expect(Number(response.headers.get('content-length'))).toBe(body.length);
  });

  it('loads nothing from anywhere, and its CSP allows exactly its own script and style', async () => {
    const response = await fetch(`${base}/`);
    const html = await response.text();
    expect(response.headers.get('content-security-policy')).toBe(LIVE_PAGE_CSP);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    // The SVG namespace is a name, not a place anything is fetched from.
    expect(html.replaceAll('http://www.w3.org/2000/svg', '')).not.toMatch(/\bsrc=|<link|@import|url\(|https?:\/\//);
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';
    const style = /<style>([\s\S]*)<\/style>/.exec(html)?.[1] ?? '';
    expect(LIVE_PAGE_CSP).toContain(`script-src ${hashOf(script)};`);
    expect(LIVE_PAGE_CSP).toContain(`style-src ${hashOf(style)};`);
    expect(LIVE_PAGE_CSP).toMatch(/^default-src 'none'; .*connect-src 'self'/);
    expect(html).toContain('<meta name="procmetrics-stream" content="/status/events">');
  });

  it('answers HEAD with the headers alone and refuses other methods', async () => {
    const head = await fetch(`${base}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await fetch(`${base}/`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('escapes the stream URL it is given, and refuses one that is not a string', () => {
    expect(livePageHtml('"><script>x</script>')).toContain('content="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
    expect(() => livePage({ streamUrl: 42 as unknown as string })).toThrow(/options\.streamUrl/);
  });
});
