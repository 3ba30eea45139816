// What the catalog pages show, read from the DOM of Debian's Chromium, for
// tests/integration/test_serve_web.py to compare with `eodkit catalog`.
// Usage: node catalog_facets.mjs BASE_URL ARG... where each ARG is a search
// query string ("task=segmentation&platform=satellite") or "stats:BY".
// Prints {"search": {QUERY: {"total", "facets": {name: [[value, count,
// active]...]}}}, "stats": {BY: {"summary", "rows": [[cells]...],
// "chart_left": the leftmost x of any text Chromium draws in its chart}}}.
// Removing a task filter by its facet button is checked on the way.
import { check, withPage } from './browser.mjs';

const [base, ...args] = process.argv.slice(2);
const out = { search: {}, stats: {} };

async function readSearch(page, query) {
  await page.goto(base + '/?' + query);
  await page.waitForFunction(() => /^\d+ dataset/.test(document.getElementById('summary').textContent)
    && document.querySelectorAll('#facets h2').length === 4);
  const total = parseInt(await page.locator('#summary').textContent(), 10);
  const facets = await page.locator('button.facet').evaluateAll((buttons) => {
    const byName = {};
    for (const b of buttons) {
      const count = b.querySelector('.count').textContent.match(/^\((\d+)\)$/);
      (byName[b.dataset.facet] ||= []).push(
        [b.dataset.value, count ? Number(count[1]) : null, b.classList.contains('active')]);
    }
    return byName;
  });
  out.search[query] = { total, facets };
  const active = page.locator('button.facet.active[data-facet=task]');
  if (await active.count() === 1) {
    await active.click();
    await page.waitForFunction(() => !location.search.includes('task=')
      && document.querySelectorAll('#facets h2').length === 4
      && document.querySelectorAll('button.facet.active[data-facet=task]').length === 0);
    check(!page.url().includes('task='), 'the task filter is removed by its button');
  }
}

async function readStats(page, by) {
  await page.goto(base + '/stats?by=' + by);
  await page.waitForFunction((b) => document.getElementById('group-name').textContent === b
    && document.querySelectorAll('#groups tbody tr').length > 0, by);
  const rows = await page.locator('#groups tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  // The chart the page shows, drawn inline so its text can be measured.
  const chartLeft = await page.evaluate(async (b) => {
    const text = await (await fetch('/api/charts/groups.svg?by=' + b)).text();
    const svg = new DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
    document.body.append(svg);
    return Math.min(...[...svg.querySelectorAll('text')].map((t) => t.getBBox().x));
  }, by);
  out.stats[by] = { summary: await page.locator('#summary').textContent(), rows,
    chart_left: chartLeft };
}

await withPage(async (page) => {
  for (const arg of args) {
    if (arg.startsWith('stats:')) {
      await readStats(page, arg.slice(6));
    } else {
      await readSearch(page, arg);
    }
  }
});
console.log(JSON.stringify(out));
