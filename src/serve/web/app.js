// eodkit catalog pages: each page (body data-page) fetches the JSON API and
// builds its content with DOM calls (textContent only, never HTML from data).
'use strict';

const FACETS = ['task', 'platform', 'modality', 'continent'];
const FILTERS = ['q', 'task', 'platform', 'modality', 'continent', 'sensor', 'license',
  'year_min', 'year_max', 'min_images', 'sort', 'order', 'offset'];
const PAGE_SIZE = 50;

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) {
    node.append(child instanceof Node ? child : String(child ?? ''));
  }
  return node;
}

async function getJSON(url) {
  const response = await fetch(url);
  const body = await response.json();
  if (!response.ok) {
    throw new Error(body.error || response.statusText);
  }
  return body;
}

function showError(err) {
  const box = document.getElementById('error');
  box.textContent = err.message;
  box.hidden = false;
}

// 8500694400 -> "8.5 G"; null -> "".
function si(value) {
  if (value === null || value === undefined) {
    return '';
  }
  const units = ['', ' k', ' M', ' G', ' T', ' P'];
  let k = 0;
  while (Math.abs(value) >= 1000 && k < units.length - 1) {
    value /= 1000;
    k += 1;
  }
  return (k > 0 && Math.abs(value) < 10 ? value.toFixed(1) : Math.round(value)) + units[k];
}

// As `eodkit catalog stats` prints shares: two decimals.
function percent(share) {
  return share === null || share === undefined ? '' : (100 * share).toFixed(2) + ' %';
}

function datasetKey(d) {
  return d.id !== null ? d.id : d.name;
}

// Only web links become clickable (never javascript: or data: URLs).
function link(url) {
  return /^https?:\/\//i.test(url) ? el('a', { href: url, rel: 'noopener' }, url) : url;
}

// ---- search page ----

function searchParams() {
  const params = new URLSearchParams();
  const current = new URLSearchParams(location.search);
  for (const name of FILTERS) {
    if (current.get(name)) {
      params.set(name, current.get(name));
    }
  }
  return params;
}

function go(params) {
  history.pushState(null, '', params.toString() ? '?' + params : '/');
  renderSearch();
}

function renderFacets(facets, params, total) {
  const aside = document.getElementById('facets');
  aside.replaceChildren();
  for (const name of FACETS) {
    const active = params.get(name);
    const list = el('ul');
    const counts = facets[name] || [];
    // A filter that is no value itself (a task synonym or prefix such as
    // "segmentation") is shown first, with the datasets it found.
    if (active && !counts.some(([value]) => value.toLowerCase() === active.toLowerCase())) {
      counts.unshift([active, total]);
    }
    for (const [value, count] of counts) {
      const button = el('button', { type: 'button', className: 'facet' }, value + ' ',
        el('span', { className: 'count' }, '(' + count + ')'));
      if (active && active.toLowerCase() === value.toLowerCase()) {
        button.classList.add('active');
        button.title = 'remove this filter';
        button.append(' ✕');
      }
      button.dataset.facet = name;
      button.dataset.value = value;
      button.addEventListener('click', () => {
        const next = searchParams();
        next.delete('offset');
        if (button.classList.contains('active')) {
          next.delete(name);
        } else {
          next.set(name, value);
        }
        go(next);
      });
      list.append(el('li', {}, button));
    }
    aside.append(el('h2', {}, name), list);
  }
}

function renderPager(total, offset) {
  const pager = document.getElementById('pager');
  pager.replaceChildren();
  const move = (to) => {
    const next = searchParams();
    next.set('offset', String(to));
    go(next);
  };
  if (offset > 0) {
    const prev = el('button', { type: 'button' }, 'Previous');
    prev.addEventListener('click', () => move(Math.max(0, offset - PAGE_SIZE)));
    pager.append(prev);
  }
  if (offset + PAGE_SIZE < total) {
    const next = el('button', { type: 'button' }, 'Next');
    next.addEventListener('click', () => move(offset + PAGE_SIZE));
    pager.append(next);
  }
}

async function renderSearch() {
  const params = searchParams();
  document.getElementById('q').value = params.get('q') || '';
  document.getElementById('sort').value = params.get('sort') || 'name';
  document.getElementById('order').value = params.get('order') || 'asc';
  const query = new URLSearchParams(params);
  query.set('limit', String(PAGE_SIZE));
  let result;
  try {
    result = await getJSON('/api/datasets?' + query);
  } catch (err) {
    showError(err);
    return;
  }
  document.getElementById('error').hidden = true;
  const rows = result.datasets.map((d) => el('tr', {},
    el('td', {}, el('a', { href: '/dataset?id=' + encodeURIComponent(datasetKey(d)) }, d.name)),
    el('td', {}, d.year ?? ''),
    el('td', {}, (d.task || []).join(', ')),
    el('td', {}, (d.platform || []).join(', ')),
    el('td', {}, (d.modality || []).join(', ')),
    el('td', {}, (d.continent || []).join(', ')),
    el('td', { className: 'num' }, d.num_images ?? ''),
    el('td', { className: 'num' }, si(d.size_measure_px)),
    el('td', { className: 'num' }, d.volume_mb === null ? '' : si(d.volume_mb / 1000)),
    el('td', { className: 'num' }, Math.round(100 * d.fair.score) + ' %')));
  document.querySelector('#results tbody').replaceChildren(...rows);
  const first = result.total === 0 ? 0 : result.offset + 1;
  document.getElementById('summary').textContent =
    `${result.total} dataset${result.total === 1 ? '' : 's'}` +
    (result.total > 0 ? ` (showing ${first}–${result.offset + rows.length})` : '');
  renderFacets(result.facets, params, result.total);
  renderPager(result.total, result.offset);
}

function searchPage() {
  document.getElementById('search').addEventListener('submit', (event) => {
    event.preventDefault();
    const next = searchParams();
    next.delete('offset');
    for (const name of ['q', 'sort', 'order']) {
      const value = document.getElementById(name).value.trim();
      if (value) {
        next.set(name, value);
      } else {
        next.delete(name);
      }
    }
    go(next);
  });
  window.addEventListener('popstate', renderSearch);
  renderSearch();
}

// ---- dataset page ----

const FACT_LABELS = [
  ['id', 'Id'], ['aliases', 'Also known as'], ['year', 'Year'], ['task', 'Task'],
  ['platform', 'Platform'], ['sensor', 'Sensor'], ['modality', 'Modality'],
  ['num_images', 'Images'], ['image_size_px', 'Image size (px)'],
  ['size_measure_px', 'Size (pixels)'], ['resolution_m', 'Resolution (m)'], ['bands', 'Bands'],
  ['num_classes', 'Classes'], ['volume_mb', 'Volume (MB)'], ['region', 'Region'],
  ['continent', 'Continent'], ['license', 'Licence'], ['url', 'URL'], ['source', 'Source'],
  ['provenance', 'Provenance'], ['notes', 'Notes'], ['bbox', 'Footprint (W, S, E, N)'],
];

function renderBuilt(detail) {
  document.getElementById('built').hidden = false;
  const splits = Object.entries(detail.splits || {}).map(([name, chips]) =>
    el('tr', {}, el('td', {}, name), el('td', { className: 'num' }, chips)));
  document.querySelector('#splits tbody').replaceChildren(...splits);
  const mods = (detail.modalities || []).map((m) => el('tr', {},
    el('td', {}, m.name), el('td', {}, m.kind), el('td', {}, m.sensor ?? ''),
    el('td', {}, m.dtype ?? ''), el('td', {}, (m.bands || []).join(', '))));
  document.querySelector('#modalities tbody').replaceChildren(...mods);
  const classes = (detail.classes || []).map((c) => el('li', {}, `${c.id}: ${c.name}`));
  document.getElementById('classes').replaceChildren(...classes);
}

async function datasetPage() {
  const key = new URLSearchParams(location.search).get('id');
  if (!key) {
    showError(new Error('no dataset given: open one from the search page'));
    return;
  }
  let d;
  try {
    d = await getJSON('/api/datasets/' + encodeURIComponent(key));
  } catch (err) {
    showError(err);
    document.getElementById('name').textContent = 'Dataset not found';
    return;
  }
  document.title = 'eodkit catalog: ' + d.name;
  document.getElementById('name').textContent = d.name;
  document.getElementById('description').textContent = d.description ?? '';
  const missing = d.fair.missing.length ? ' (missing: ' + d.fair.missing.join(', ') + ')' : '';
  document.getElementById('fair').textContent =
    `FAIR completeness ${Math.round(100 * d.fair.score)} %${missing}`;
  const facts = document.getElementById('facts');
  for (const [field, label] of FACT_LABELS) {
    const value = d[field];
    if (value === null || value === undefined || (Array.isArray(value) && !value.length)) {
      continue;
    }
    let shown = Array.isArray(value) ? value.join(field === 'bbox' ? ', ' : '; ') : value;
    if (field === 'url') {
      shown = link(value);
    }
    facts.append(el('dt', {}, label), el('dd', {}, shown));
  }
  if (d.detail) {
    renderBuilt(d.detail);
  }
}

// ---- statistics page ----

async function renderStats() {
  const by = document.getElementById('by').value;
  document.getElementById('chart-groups').src = '/api/charts/groups.svg?by=' + by;
  let stats;
  try {
    stats = await getJSON('/api/stats?by=' + by);
  } catch (err) {
    showError(err);
    return;
  }
  document.getElementById('group-name').textContent = by;
  const field = by.replace('-combination', '');
  document.getElementById('summary').textContent = stats.partition
    ? `${stats.datasets} datasets, each counted once under the combination of its ` +
      `${field}s (${stats.datasets - stats.with_value} without a ${field} under (unknown)); ` +
      `shares are of all ${stats.shares_of} and add up to 100 %.`
    : `${stats.datasets} datasets, ${stats.with_value} with a ${by}; a dataset with several ` +
      `values counts in each group, shares are of the ${stats.shares_of}.`;
  const rows = stats.groups.map((g) => el('tr', {},
    el('td', {}, g.value ?? '(unknown)'), el('td', { className: 'num' }, g.datasets),
    el('td', { className: 'num' }, percent(g.share)),
    el('td', { className: 'num' }, g.datasets_with_size ? si(g.size_px) : ''),
    el('td', { className: 'num' }, percent(g.size_share)),
    el('td', { className: 'num' }, g.datasets_with_volume ? si(g.volume_gb) : ''),
    el('td', { className: 'num' }, percent(g.volume_share)),
    el('td', { className: 'num' }, si(g.median_size_px)),
    el('td', { className: 'num' }, si(g.max_size_px))));
  document.querySelector('#groups tbody').replaceChildren(...rows);
  const fair = Object.entries(stats.fair.fields).map(([field, share]) =>
    el('tr', {}, el('td', {}, field), el('td', { className: 'num' }, percent(share))));
  document.querySelector('#fair tbody').replaceChildren(...fair);
}

function statsPage() {
  const select = document.getElementById('by');
  const by = new URLSearchParams(location.search).get('by');
  if (by && [...select.options].some((o) => o.value === by)) {
    select.value = by;
  }
  select.addEventListener('change', () => {
    history.replaceState(null, '', '?by=' + select.value);
    renderStats();
  });
  renderStats();
}

const pages = { search: searchPage, dataset: datasetPage, stats: statsPage, map: () => {} };
pages[document.body.dataset.page]();
