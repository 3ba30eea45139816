// What the browser tests share: Debian's Chromium driven by playwright-core,
// a JSON API helper and a check that fails the run. withPage(base, fn) runs
// fn(page) in a fresh headless profile and exits 1 (printing the problems)
// on a failed check, a console error, a page error or a failed request.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export function check(condition, message) {
  if (!condition) {
    throw new Error('check failed: ' + message);
  }
}

export async function api(base, path) {
  const response = await fetch(base + path);
  check(response.ok, `${path} answered ${response.status}`);
  return response.json();
}

// The search page's summary line once the results for TOTAL datasets are shown.
export async function waitForTotal(page, total) {
  await page.waitForFunction(
    (n) => document.getElementById('summary').textContent.startsWith(`${n} dataset`), total);
}

export async function withPage(fn) {
  const problems = [];
  const profile = mkdtempSync(join(tmpdir(), 'eodkit-chromium-'));
  let context;
  let failed = false;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(20000);
    page.on('console', (msg) => {
      if (msg.type() === 'error') {
        problems.push('console: ' + msg.text());
      }
    });
    page.on('pageerror', (err) => problems.push('page error: ' + err.message));
    page.on('requestfailed', (req) => problems.push('request failed: ' + req.url()));
    await fn(page);
  } catch (err) {
    problems.push(err.stack || String(err));
    failed = true;
  } finally {
    if (context) {
      await context.close();
    }
    rmSync(profile, { recursive: true, force: true });
  }
  if (failed || problems.length > 0) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
}
