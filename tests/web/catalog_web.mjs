// Browser test of the catalog pages served by `eodkit serve`, driven with
// playwright-core through Debian's Chromium. Usage: node catalog_web.mjs BASE_URL
// (tests/integration/test_serve_web.py starts the server and runs this).
// Searches, filters by a facet, opens a dataset page, sees the statistics
// charts and the map, and fails on any console error or failed request.
import { api as apiAt, check, waitForTotal, withPage } from './browser.mjs';

const base = process.argv[2];
const api = (path) => apiAt(base, path);

async function run(page) {
  // Search page: everything, then free text.
  await page.goto(base + '/');
  const all = await api('/api/datasets');
  await waitForTotal(page, all.total);
  check((await page.locator('#results tbody tr').count()) === Math.min(50, all.total),
    'first page of results');

  await page.fill('#q', 'sentinel');
  await page.click('#search button[type=submit]');
  const sentinel = await api('/api/datasets?q=sentinel');
  await waitForTotal(page, sentinel.total);
  check(page.url().includes('q=sentinel'), 'the search is in the URL');

  // A facet: satellite platform among the sentinel results.
  const facet = page.locator('button.facet[data-facet=platform][data-value=satellite]');
  const expectedCount = sentinel.facets.platform.find(([v]) => v === 'satellite')[1];
  check((await facet.textContent()).includes(`(${expectedCount})`), 'facet count');
  await facet.click();
  const filtered = await api('/api/datasets?q=sentinel&platform=satellite');
  check(filtered.total === expectedCount, 'facet count equals the filtered total');
  await waitForTotal(page, filtered.total);
  await page.locator('button.facet.active[data-facet=platform]').waitFor();
  const shown = await page.locator('#results tbody tr td:nth-child(4)').allTextContents();
  check(shown.length === Math.min(50, filtered.total)
    && shown.every((p) => p.includes('satellite')), 'every result is on a satellite');

  // A dataset page, opened from the results.
  const first = filtered.datasets[0];
  await page.locator('#results tbody tr a').first().click();
  await page.waitForURL(/\/dataset\?id=/);
  await page.waitForFunction((name) => document.getElementById('name').textContent === name,
    first.name);
  check((await page.locator('#facts dt').count()) >= 5, 'dataset facts shown');
  check((await page.locator('#fair').textContent()).startsWith('FAIR completeness'),
    'FAIR score shown');

  // A dataset built by eodkit shows its splits and bands.
  await page.goto(base + '/dataset?id=atlanta-buildings');
  await page.locator('#built').waitFor({ state: 'visible' });
  const splits = await page.locator('#splits tbody tr').count();
  check(splits === 3, 'three splits of the built dataset');

  // Statistics: the charts load, the table follows the grouping.
  await page.goto(base + '/stats');
  await page.locator('#groups tbody tr').first().waitFor();
  await page.selectOption('#by', 'continent');
  const continents = await api('/api/stats?by=continent');
  await page.waitForFunction((n) => document.querySelectorAll('#groups tbody tr').length === n
    && document.getElementById('group-name').textContent === 'continent',
    continents.groups.length);
  for (const id of ['chart-groups', 'chart-growth-size', 'chart-growth-volume', 'chart-fair']) {
    await page.waitForFunction((i) => {
      const img = document.getElementById(i);
      return img.complete && img.naturalWidth > 0;
    }, id);
  }
  check((await page.locator('#chart-groups').getAttribute('src')).endsWith('by=continent'),
    'the group chart follows the grouping');

  // The map shows the footprints the catalog knows.
  await page.goto(base + '/map');
  await page.waitForFunction(() => {
    const svg = document.getElementById('map').contentDocument;
    return svg !== null && svg.querySelectorAll('rect.fp').length > 0;
  });
}

await withPage(run);
console.log('web pages ok');
