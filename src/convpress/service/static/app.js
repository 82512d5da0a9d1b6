// convpress web page: upload an image, compare two versions of it side by side, plot RD curves.
// Plain JavaScript against the same-origin REST API; nothing is fetched from anywhere else.

const $ = (selector, root = document) => root.querySelector(selector);
const SIDES = ['left', 'right'];
const CODEC_COLORS = {
  jpeg: '#2563eb', webp: '#dc2626', avif: '#16a34a', heic: '#9333ea', jpegxl: '#ea580c', jpeg2000: '#0891b2',
  learned: '#111827', png: '#64748b',
};
const FALLBACK_COLORS = ['#db2777', '#ca8a04', '#4f46e5', '#0d9488'];
const CODEC_LABELS = {
  jpeg: 'JPEG', webp: 'WebP', avif: 'AVIF', heic: 'HEIC', jpeg2000: 'JPEG 2000', jpegxl: 'JPEG XL', png: 'PNG',
  learned: 'convpress CNN',
};
const RATE_MODES = {
  quality: { label: 'Quality', field: 'quality', initial: '50' },
  bpp: { label: 'Target bpp', field: 'target_bpp', initial: '0.5' },
  size: { label: 'Target size (e.g. 20KB)', field: 'target_size', initial: '20KB' },
  psnr: { label: 'Target PSNR (dB)', field: 'target_psnr', initial: '32' },
  lossless: { label: 'Lossless' },
};
const DEFAULT_SOURCES = { left: ['jpeg'], right: ['learned', 'webp'] };
const UPDATE_DELAY_MS = 350;
const ZOOM_STEP = 1.25;
const MIN_SCALE = 0.02;
const MAX_SCALE = 32;

const state = {
  health: null,
  codecs: [],
  restoration: { denoise: false, deblock: false },
  file: null,
  fileUrl: null,
  original: null,
  sides: {},
  view: { scale: 1, x: 0, y: 0, split: 0.5, fitted: true },
  sweep: null,
  busy: 0,
};

// ---------- small helpers ----------

function element(tag, attributes = {}, text = '') {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function svgElement(tag, attributes = {}, parent = null) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (parent) parent.append(node);
  return node;
}

function codecLabel(name) {
  return CODEC_LABELS[name] || name;
}

function codecByName(name) {
  return state.codecs.find((codec) => codec.name === name && codec.available) || null;
}

function codecColor(name) {
  const index = Math.max(0, state.codecs.findIndex((codec) => codec.name === name));
  return CODEC_COLORS[name] || FALLBACK_COLORS[index % FALLBACK_COLORS.length];
}

function formatBytes(bytes) {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(bytes < 1e4 ? 2 : 1)} kB`;
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

function formatMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}

function formatQuality(quality) {
  return Number.isInteger(quality) ? String(quality) : quality.toFixed(1);
}

function base64ToBlob(text, type) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return new Blob([bytes], { type });
}

function fileStem(name) {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

// ---------- progress and errors ----------

function beginWork() {
  state.busy += 1;
  $('#progress').hidden = false;
}

function endWork() {
  state.busy = Math.max(0, state.busy - 1);
  $('#progress').hidden = state.busy === 0;
}

// The banner shows the latest error; its owner (a side, the sweep, the upload) clears it on success,
// so one side succeeding does not hide the other side's error.
function showError(message, owner = 'page') {
  $('#error-text').textContent = message;
  $('#error').dataset.owner = owner;
  $('#error').hidden = false;
}

function hideError(owner = null) {
  const banner = $('#error');
  if (owner === null || banner.dataset.owner === owner) banner.hidden = true;
}

async function describeError(response) {
  let detail = null;
  try {
    detail = (await response.json()).detail;
  } catch {
    detail = null;
  }
  if (Array.isArray(detail)) {
    detail = detail.map((item) => `${(item.loc || []).slice(1).join('.') || 'request'}: ${item.msg}`).join('; ');
  }
  return detail || `the server answered ${response.status} ${response.statusText}`;
}

async function request(path, { form = null, signal = null, expect = 'json' } = {}) {
  beginWork();
  try {
    let response;
    try {
      response = await fetch(path, form ? { method: 'POST', body: form, signal } : { signal });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      throw new Error('cannot reach the convpress server; is it still running?');
    }
    if (!response.ok) throw new Error(await describeError(response));
    return expect === 'json' ? await response.json() : response;
  } finally {
    endWork();
  }
}

// ---------- start-up ----------

async function loadServerInfo() {
  const status = $('#server-status');
  try {
    const [health, catalogue] = await Promise.all([request('/api/health'), request('/api/codecs')]);
    state.health = health;
    state.codecs = catalogue.codecs;
    state.restoration = catalogue.models.restoration;
    const { limits } = health;
    status.className = 'server-status ok';
    $('.status-text', status).textContent = `ready · ${limits.workers} worker${limits.workers === 1 ? '' : 's'}`;
    $('#footer-version').textContent = `convpress ${health.version}`;
    $('#drop-hint').textContent =
      `PNG, JPEG, WebP, TIFF, AVIF, HEIC, JPEG XL, JPEG 2000 or .cpz · up to ${formatBytes(limits.max_upload_bytes)}` +
      ` and ${(limits.max_pixels / 1e6).toFixed(0)} megapixels`;
  } catch (error) {
    status.className = 'server-status down';
    $('.status-text', status).textContent = 'server unreachable';
    showError(`cannot load the codec list: ${error.message}`);
    return;
  }
  for (const side of SIDES) {
    fillSources(side);
    configureSide(side);
  }
  fillSweepCodecs();
}

function buildSides() {
  for (const side of SIDES) {
    const controls = $('#side-template').content.firstElementChild.cloneNode(true);
    const metrics = $('#metrics-template').content.firstElementChild.cloneNode(true);
    for (const node of [controls, metrics]) {
      node.dataset.side = side;
      $('.side-badge', node).textContent = side === 'left' ? 'L' : 'R';
    }
    $('#sides').append(controls);
    $('#metrics-row').append(metrics);
    state.sides[side] = { ui: controls, metrics, result: null, urls: [], controller: null, timer: 0 };
    bindSideControls(side);
  }
}

function fillSources(side) {
  const select = $('.source', state.sides[side].ui);
  select.replaceChildren(element('option', { value: 'original' }, 'Original'));
  const codecs = element('optgroup', { label: 'Compressed with' });
  for (const codec of state.codecs) {
    const option = element('option', { value: codec.name }, codecLabel(codec.name) + (codec.available ? '' : ' (unavailable)'));
    option.disabled = !codec.available;
    option.title = codec.available ? codec.description : codec.unavailable_reason || '';
    codecs.append(option);
  }
  const restored = element('optgroup', { label: 'Restored' });
  const denoise = element('option', { value: 'denoise' }, `Denoised original${state.restoration.denoise ? '' : ' (not installed)'}`);
  denoise.disabled = !state.restoration.denoise;
  restored.append(denoise);
  select.append(codecs, restored);
  select.value = DEFAULT_SOURCES[side].find((name) => codecByName(name)) || 'original';
}

// ---------- side controls ----------

function bindSideControls(side) {
  const ui = state.sides[side].ui;
  $('.source', ui).addEventListener('change', () => {
    configureSide(side);
    includeInSweep($('.source', ui).value);
    scheduleUpdate(side, 0);
  });
  $('.rate-mode', ui).addEventListener('change', () => {
    applyRateMode(side);
    scheduleUpdate(side, 0);
  });
  $('.quality-range', ui).addEventListener('input', (event) => {
    $('.rate-value', ui).value = event.target.value;
    scheduleUpdate(side);
  });
  $('.rate-value', ui).addEventListener('input', (event) => {
    if ($('.rate-mode', ui).value === 'quality') $('.quality-range', ui).value = event.target.value;
    scheduleUpdate(side);
  });
  for (const selector of ['.deblock', '.sigma']) $(selector, ui).addEventListener('change', () => scheduleUpdate(side, 0));
  $('.options-body', ui).addEventListener('change', () => scheduleUpdate(side, 0));
}

function configureSide(side) {
  const ui = state.sides[side].ui;
  const source = $('.source', ui).value;
  const codec = codecByName(source);
  $('.codec-settings', ui).hidden = !codec;
  $('.restore-settings', ui).hidden = source !== 'denoise';
  if (!codec) return;
  const modes = codec.lossy ? ['quality', 'bpp', 'size', 'psnr'] : [];
  if (codec.lossless) modes.push('lossless');
  const select = $('.rate-mode', ui);
  const previous = select.value;
  select.replaceChildren(...modes.map((mode) => element('option', { value: mode }, RATE_MODES[mode].label.split(' (')[0])));
  select.value = modes.includes(previous) ? previous : modes[0];
  applyRateMode(side);
  fillOptions(ui, codec);
  const deblock = $('.deblock', ui);
  $('.deblock-check', ui).hidden = !codec.lossy;
  deblock.disabled = !state.restoration.deblock || !codec.lossy;
  if (deblock.disabled) deblock.checked = false;
  $('.deblock-check', ui).classList.toggle('disabled', deblock.disabled);
  $('.deblock-label', ui).textContent = state.restoration.deblock
    ? 'Deblock the decoded image'
    : 'Deblock the decoded image (model not installed)';
}

function applyRateMode(side) {
  const ui = state.sides[side].ui;
  const mode = $('.rate-mode', ui).value;
  const field = $('.value-field', ui);
  field.hidden = mode === 'lossless';
  if (mode === 'lossless' || ui.dataset.mode === mode) return;
  ui.dataset.mode = mode;
  $('.value-label', ui).textContent = RATE_MODES[mode].label;
  $('.quality-range', ui).hidden = mode !== 'quality';
  field.classList.toggle('wide', mode !== 'quality');
  $('.rate-value', ui).value = RATE_MODES[mode].initial;
  $('.quality-range', ui).value = RATE_MODES.quality.initial;
}

function fillOptions(ui, codec) {
  const body = $('.options-body', ui);
  body.replaceChildren();
  $('.options', ui).hidden = codec.options.length === 0;
  for (const option of codec.options) {
    const label = element('label', { class: 'field', title: option.help });
    label.append(element('span', {}, option.name));
    let input;
    if (option.choices.length) {
      input = element('select');
      input.append(...option.choices.map((choice) => element('option', { value: choice }, choice)));
    } else {
      const range = option.minimum !== null ? `${option.minimum}–${option.maximum}` : '';
      input = element('input', { type: 'text', inputmode: 'numeric', placeholder: range });
    }
    input.value = String(option.default);
    input.dataset.option = option.name;
    label.append(input);
    body.append(label);
  }
}

function readSide(side) {
  const ui = state.sides[side].ui;
  const options = {};
  for (const input of ui.querySelectorAll('[data-option]')) options[input.dataset.option] = input.value.trim();
  return {
    source: $('.source', ui).value,
    codec: codecByName($('.source', ui).value),
    mode: $('.rate-mode', ui).value,
    value: $('.rate-value', ui).value.trim(),
    options,
    deblock: $('.deblock', ui).checked,
    sigma: $('.sigma', ui).value.trim(),
  };
}

function scheduleUpdate(side, delay = UPDATE_DELAY_MS) {
  const entry = state.sides[side];
  clearTimeout(entry.timer);
  entry.timer = setTimeout(() => updateSide(side), delay);
}

function setPaneStatus(side, text, failed = false) {
  const status = $(`#busy-${side}`);
  status.hidden = !text;
  status.classList.toggle('failed', failed);
  $('.busy-text', status).textContent = text || '';
}

async function updateSide(side) {
  const entry = state.sides[side];
  if (!state.file) return;
  entry.controller?.abort();
  const controller = new AbortController();
  entry.controller = controller;
  const config = readSide(side);
  setPaneStatus(side, busyText(config));
  try {
    const view = await renderSource(config, controller.signal);
    if (controller.signal.aborted) {
      view.urls.forEach((url) => URL.revokeObjectURL(url));
      return;
    }
    showSide(side, view);
    setPaneStatus(side, null);
    hideError(side);
  } catch (error) {
    if (error.name === 'AbortError' || entry.controller !== controller) return;
    clearSide(side);
    setPaneStatus(side, error.message, true);
    showError(`${side === 'left' ? 'Left' : 'Right'} side: ${error.message}`, side);
  } finally {
    if (entry.controller === controller) entry.controller = null;
  }
}

function busyText(config) {
  if (config.source === 'original') return 'Loading…';
  if (config.source === 'denoise') return 'Denoising…';
  const verb = config.mode === 'quality' || config.mode === 'lossless' ? 'Compressing' : 'Searching the quality';
  return `${verb} with ${codecLabel(config.codec.name)}…`;
}

// ---------- producing each kind of side ----------

function renderSource(config, signal) {
  if (config.source === 'original') return Promise.resolve(originalView());
  if (config.source === 'denoise') return denoisedView(config, signal);
  return compressedView(config, signal);
}

function originalView() {
  const pixels = state.original.width * state.original.height;
  return {
    title: 'Original',
    imageUrl: state.original.url,
    urls: [],
    metrics: {
      size: [formatBytes(state.file.size), 'upload'],
      bpp: [(8 * state.file.size / pixels).toFixed(3)],
      psnr: ['—', 'reference'],
      msssim: ['—', 'reference'],
      encode: ['—'],
      decode: ['—'],
    },
    note: `${state.original.format.toUpperCase()} as uploaded`,
    downloads: [{ label: `Download original`, url: state.fileUrl, name: state.file.name, primary: true }],
    point: null,
  };
}

function compressForm(config) {
  const form = new FormData();
  form.append('image', state.file);
  form.append('codec', config.codec.name);
  if (config.mode === 'lossless') form.append('lossless', 'true');
  else form.append(RATE_MODES[config.mode].field, config.value);
  const changed = Object.entries(config.options).filter(([name, value]) => {
    const option = config.codec.options.find((item) => item.name === name);
    return value !== '' && value !== String(option.default);
  });
  if (changed.length) form.append('options', JSON.stringify(Object.fromEntries(changed)));
  return form;
}

async function compressedView(config, signal) {
  const result = await request('/api/compress', { form: compressForm(config), signal });
  const compressed = base64ToBlob(result.compressed, 'application/octet-stream');
  const decoded = base64ToBlob(result.decoded_png, 'image/png');
  const compressedUrl = URL.createObjectURL(compressed);
  const decodedUrl = URL.createObjectURL(decoded);
  const name = `${fileStem(state.file.name)}-${result.codec}${result.quality === null ? '-lossless' : `-q${formatQuality(result.quality)}`}`;
  const view = {
    title: compressedTitle(result),
    imageUrl: decodedUrl,
    urls: [compressedUrl, decodedUrl],
    metrics: compressedMetrics(result),
    note: targetNote(result),
    downloads: [
      { label: `Download ${result.extension} · ${formatBytes(result.bytes)}`, url: compressedUrl, name: name + result.extension, primary: true },
      { label: 'Decoded PNG', url: decodedUrl, name: `${name}-decoded.png`, primary: false },
    ],
    point: { codec: result.codec, bpp: result.bpp, psnr: result.psnr },
  };
  if (!config.deblock) return view;
  return deblockedView(view, result, decoded, config, signal);
}

function compressedTitle(result) {
  const label = codecLabel(result.codec);
  if (result.quality === null) return `${label} · lossless`;
  return `${label} · q ${formatQuality(result.quality)}`;
}

function psnrValue(psnr, identical) {
  if (identical) return ['∞', 'identical'];
  return psnr === null ? ['—'] : [psnr.toFixed(2), 'dB'];
}

function msssimValue(value) {
  return value === null ? ['—', 'side < 161 px'] : [value.toFixed(4)];
}

function compressedMetrics(result) {
  const raw = result.width * result.height * (result.mode === 'L' ? 1 : result.mode.length);
  return {
    size: [formatBytes(result.bytes), `${(raw / result.bytes).toFixed(1)}:1`],
    bpp: [result.bpp.toFixed(3)],
    psnr: psnrValue(result.psnr, result.identical),
    msssim: msssimValue(result.ms_ssim),
    encode: [formatMs(result.encode_ms)],
    decode: [formatMs(result.decode_ms)],
  };
}

function targetNote(result) {
  if (!result.target) return '';
  const { kind, value, achieved, reached } = result.target;
  const show = kind === 'size' ? formatBytes : (number) => number.toFixed(kind === 'bpp' ? 3 : 2);
  const unit = kind === 'psnr' ? ' dB' : kind === 'bpp' ? ' bpp' : '';
  const outcome = reached ? 'reached' : 'not reachable; closest shown';
  return `Target ${show(value)}${unit} → ${show(achieved)}${unit} at quality ${formatQuality(result.quality)} (${outcome}); encode time includes the search.`;
}

async function deblockedView(view, result, decoded, config, signal) {
  const form = new FormData();
  form.append('image', decoded, 'decoded.png');
  if (result.quality !== null) form.append('quality', String(result.quality));
  form.append('reference', state.file);
  const restored = await request('/api/deblock', { form, signal });
  const restoredUrl = URL.createObjectURL(base64ToBlob(restored.image_png, 'image/png'));
  const gain = restored.psnr !== null && restored.input_psnr !== null ? restored.psnr - restored.input_psnr : null;
  return {
    ...view,
    title: `${view.title} + deblock`,
    imageUrl: restoredUrl,
    urls: [...view.urls, restoredUrl],
    metrics: { ...view.metrics, psnr: psnrValue(restored.psnr, restored.identical), msssim: msssimValue(restored.ms_ssim) },
    note: `Deblocked in ${formatMs(restored.restore_ms)}` + (gain === null ? '' : ` · ${gain >= 0 ? '+' : ''}${gain.toFixed(2)} dB over the decoded image`),
    downloads: [view.downloads[0], { label: 'Deblocked PNG', url: restoredUrl, name: `${fileStem(state.file.name)}-deblocked.png`, primary: false }],
    point: { codec: result.codec, bpp: result.bpp, psnr: restored.psnr },
  };
}

async function denoisedView(config, signal) {
  const form = new FormData();
  form.append('image', state.file);
  if (config.sigma) form.append('sigma', config.sigma);
  const restored = await request('/api/denoise', { form, signal });
  const url = URL.createObjectURL(base64ToBlob(restored.image_png, 'image/png'));
  return {
    title: 'Denoised',
    imageUrl: url,
    urls: [url],
    metrics: { size: ['—'], bpp: ['—'], psnr: ['—', 'no clean reference'], msssim: ['—'], encode: ['—'], decode: ['—'] },
    note: `Denoised in ${formatMs(restored.restore_ms)}`,
    downloads: [{ label: 'Download PNG', url, name: `${fileStem(state.file.name)}-denoised.png`, primary: true }],
    point: null,
  };
}

// ---------- showing a side ----------

function showSide(side, view) {
  const entry = state.sides[side];
  entry.urls.forEach((url) => URL.revokeObjectURL(url));
  entry.urls = view.urls;
  entry.result = view;
  $(`#image-${side}`).src = view.imageUrl;
  $(`#tag-${side}`).textContent = view.title;
  const card = entry.metrics;
  $('.metrics-title', card).textContent = view.title;
  const cells = { size: '.m-size', bpp: '.m-bpp', psnr: '.m-psnr', msssim: '.m-msssim', encode: '.m-encode', decode: '.m-decode' };
  for (const [key, selector] of Object.entries(cells)) {
    const [main, detail] = view.metrics[key];
    const cell = $(selector, card);
    cell.replaceChildren(main);
    if (detail) cell.append(' ', element('small', {}, detail));
  }
  $('.metrics-note', card).textContent = view.note;
  const [primary, secondary] = [$('.download-main', card), $('.download-png', card)];
  for (const [link, download] of [[primary, view.downloads[0]], [secondary, view.downloads[1]]]) {
    link.hidden = !download;
    if (!download) continue;
    link.href = download.url;
    link.download = download.name;
    link.textContent = download.label;
  }
  drawRd();
}

function clearSide(side) {
  const entry = state.sides[side];
  entry.urls.forEach((url) => URL.revokeObjectURL(url));
  entry.urls = [];
  entry.result = null;
  $(`#image-${side}`).removeAttribute('src');
  $(`#tag-${side}`).textContent = '';
  const card = entry.metrics;
  $('.metrics-title', card).textContent = '';
  for (const cell of card.querySelectorAll('dd')) cell.textContent = '—';
  $('.metrics-note', card).textContent = '';
  for (const link of card.querySelectorAll('.metrics-actions a')) link.hidden = true;
  drawRd();
}

function clearSides() {
  for (const side of SIDES) {
    state.sides[side].controller?.abort();
    setPaneStatus(side, null);
    clearSide(side);
  }
}

// ---------- loading an image ----------

async function loadFile(file) {
  if (!file) return;
  const limit = state.health?.limits.max_upload_bytes;
  if (limit && file.size > limit) {
    showError(`${file.name} is ${formatBytes(file.size)}; this server accepts files up to ${formatBytes(limit)}.`);
    return;
  }
  const form = new FormData();
  form.append('file', file);
  let response;
  let png;
  try {
    response = await request('/api/decode', { form, expect: 'response' });
    png = await response.blob();
  } catch (error) {
    showError(`${file.name}: ${error.message}`, 'upload');
    return;
  }
  hideError();
  clearSides();
  if (state.original) URL.revokeObjectURL(state.original.url);
  if (state.fileUrl) URL.revokeObjectURL(state.fileUrl);
  state.file = file;
  state.fileUrl = URL.createObjectURL(file);
  state.original = {
    url: URL.createObjectURL(png),
    width: Number(response.headers.get('X-Image-Width')),
    height: Number(response.headers.get('X-Image-Height')),
    format: response.headers.get('X-Convpress-Format') || 'image',
  };
  state.sweep = null;
  $('#file-name').textContent = file.name;
  $('#file-meta').textContent =
    `${state.original.width} × ${state.original.height} · ${state.original.format.toUpperCase()} · ${formatBytes(file.size)}`;
  $('#drop-zone').hidden = true;
  $('#workspace').hidden = false;
  for (const side of SIDES) {
    const image = $(`#image-${side}`);
    image.width = state.original.width;
    image.height = state.original.height;
  }
  fitView();
  drawRd();
  SIDES.forEach((side) => updateSide(side));
}

function bindFileInputs() {
  const input = $('#file-input');
  input.addEventListener('change', () => {
    loadFile(input.files[0]);
    input.value = '';
  });
  const zone = $('#drop-zone');
  let depth = 0;
  document.addEventListener('dragenter', (event) => {
    event.preventDefault();
    depth += 1;
    zone.classList.add('dragging');
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) {
      zone.classList.remove('dragging');
      document.body.classList.remove('dragging');
    }
  });
  document.addEventListener('dragover', (event) => event.preventDefault());
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove('dragging');
    document.body.classList.remove('dragging');
    const file = event.dataTransfer?.files?.[0];
    if (file) loadFile(file);
  });
}

// ---------- viewer: split, zoom and pan (both sides share one transform) ----------

function applyView() {
  const { scale, x, y, split } = state.view;
  for (const side of SIDES) $(`#image-${side}`).style.transform = `translate(${x}px, ${y}px) scale(${scale})`;
  $('#pane-right').style.clipPath = `inset(0 0 0 ${(split * 100).toFixed(3)}%)`;
  const handle = $('#split-handle');
  handle.style.left = `${(split * 100).toFixed(3)}%`;
  handle.setAttribute('aria-valuenow', String(Math.round(split * 100)));
  $('#zoom-level').textContent = `${Math.round(scale * 100)}%`;
  $('#stage').classList.toggle('pixelated', scale >= 2);
}

function fitView() {
  if (!state.original) return;
  const stage = $('#stage');
  const scale = Math.min(stage.clientWidth / state.original.width, stage.clientHeight / state.original.height);
  centerAt(scale);
  state.view.fitted = true;
}

function centerAt(scale) {
  const stage = $('#stage');
  state.view.scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
  state.view.x = (stage.clientWidth - state.original.width * state.view.scale) / 2;
  state.view.y = (stage.clientHeight - state.original.height * state.view.scale) / 2;
  state.view.fitted = false;
  applyView();
}

function zoomAt(factor, cx, cy) {
  const view = state.view;
  const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, view.scale * factor));
  view.x = cx - ((cx - view.x) * scale) / view.scale;
  view.y = cy - ((cy - view.y) * scale) / view.scale;
  view.scale = scale;
  view.fitted = false;
  applyView();
}

function zoomAtCenter(factor) {
  const stage = $('#stage');
  zoomAt(factor, stage.clientWidth / 2, stage.clientHeight / 2);
}

function setSplit(clientX) {
  const rect = $('#stage').getBoundingClientRect();
  state.view.split = Math.min(1, Math.max(0, (clientX - rect.left) / rect.width));
  applyView();
}

function bindViewer() {
  const stage = $('#stage');
  const handle = $('#split-handle');
  $('#zoom-in').addEventListener('click', () => zoomAtCenter(ZOOM_STEP));
  $('#zoom-out').addEventListener('click', () => zoomAtCenter(1 / ZOOM_STEP));
  $('#zoom-fit').addEventListener('click', fitView);
  $('#zoom-actual').addEventListener('click', () => centerAt(1));
  stage.addEventListener('wheel', (event) => {
    event.preventDefault();
    const rect = stage.getBoundingClientRect();
    zoomAt(Math.exp(-event.deltaY * 0.0015), event.clientX - rect.left, event.clientY - rect.top);
  }, { passive: false });

  let drag = null;
  stage.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return;
    const onHandle = handle.contains(event.target);
    drag = { kind: onHandle ? 'split' : 'pan', x: event.clientX, y: event.clientY };
    stage.setPointerCapture(event.pointerId);
    stage.classList.toggle('panning', !onHandle);
    if (onHandle) setSplit(event.clientX);
  });
  stage.addEventListener('pointermove', (event) => {
    if (!drag) return;
    if (drag.kind === 'split') {
      setSplit(event.clientX);
      return;
    }
    state.view.x += event.clientX - drag.x;
    state.view.y += event.clientY - drag.y;
    state.view.fitted = false;
    drag.x = event.clientX;
    drag.y = event.clientY;
    applyView();
  });
  const endDrag = () => {
    drag = null;
    stage.classList.remove('panning');
  };
  stage.addEventListener('pointerup', endDrag);
  stage.addEventListener('pointercancel', endDrag);
  handle.addEventListener('keydown', (event) => {
    const steps = { ArrowLeft: -0.02, ArrowRight: 0.02, Home: -1, End: 1 };
    if (!(event.key in steps)) return;
    event.preventDefault();
    state.view.split = Math.min(1, Math.max(0, state.view.split + steps[event.key]));
    applyView();
  });
  window.addEventListener('resize', () => {
    if (state.view.fitted) fitView();
    drawRd();
  });
}

// ---------- rate-distortion view ----------

function fillSweepCodecs() {
  const box = $('#rd-codecs');
  box.replaceChildren();
  const lossy = state.codecs.filter((codec) => codec.available && codec.lossy);
  const chosen = SIDES.map((side) => $('.source', state.sides[side].ui).value);
  for (const codec of lossy) {
    const label = element('label', { class: 'check' });
    const input = element('input', { type: 'checkbox', value: codec.name });
    input.checked = chosen.includes(codec.name);
    const swatch = element('span', { class: 'swatch' });
    swatch.style.background = codecColor(codec.name);
    label.append(input, swatch, element('span', {}, codecLabel(codec.name)));
    box.append(label);
  }
}

function includeInSweep(codec) {
  const box = document.querySelector(`#rd-codecs input[value="${codec}"]`);
  if (box) box.checked = true;
}

async function runSweep() {
  if (!state.file) return;
  const codecs = [...document.querySelectorAll('#rd-codecs input:checked')].map((input) => input.value);
  if (!codecs.length) {
    showError('Choose at least one codec to sweep.', 'sweep');
    return;
  }
  const form = new FormData();
  form.append('image', state.file);
  form.append('codecs', codecs.join(','));
  form.append('qualities', $('#rd-qualities').value);
  const button = $('#rd-run');
  button.disabled = true;
  button.replaceChildren(element('span', { class: 'spinner' }), ' Sweeping…');
  try {
    state.sweep = await request('/api/sweep', { form });
    hideError('sweep');
    if (state.sweep.skipped.length) {
      showError(state.sweep.skipped.map((item) => `${codecLabel(item.codec)} skipped: ${item.reason}`).join(' · '), 'sweep');
    }
  } catch (error) {
    showError(`Sweep: ${error.message}`, 'sweep');
  } finally {
    button.disabled = false;
    button.textContent = 'Run sweep';
  }
  drawRd();
}

function niceStep(span, count) {
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalized = raw / magnitude;
  const nice = normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10;
  return nice * magnitude;
}

function ticks(min, max, step) {
  const values = [];
  for (let value = Math.ceil(min / step - 1e-9) * step; value <= max + step * 1e-6; value += step) {
    values.push(Number(value.toFixed(6)));
  }
  return values;
}

function sidePoints() {
  return SIDES.map((side) => ({ side, point: state.sides[side].result?.point }))
    .filter(({ point }) => point && point.psnr !== null);
}

function drawRd() {
  const plot = $('#rd-plot');
  const legend = $('#rd-legend');
  legend.replaceChildren();
  const series = (state.sweep?.series || []).map((item) => ({
    codec: item.codec,
    points: item.points.filter((point) => point.psnr !== null),
  }));
  const markers = sidePoints();
  const all = [...series.flatMap((item) => item.points), ...markers.map((marker) => marker.point)];
  if (!series.length || !all.length) {
    plot.replaceChildren(element('p', { class: 'rd-empty' }, 'Choose codecs and run a sweep to plot their curves.'));
    return;
  }
  const width = Math.max(320, plot.clientWidth || 800);
  const height = 340;
  const margin = { left: 56, right: 20, top: 14, bottom: 46 };
  const bpps = all.map((p) => p.bpp);
  const xStep = niceStep(Math.max(...bpps) * 1.05 - Math.min(...bpps) * 0.9, 8);
  const xMin = Math.max(0, Math.floor((Math.min(...bpps) * 0.9) / xStep) * xStep);
  const xMax = Math.ceil((Math.max(...bpps) * 1.05) / xStep) * xStep;
  const psnrs = all.map((p) => p.psnr);
  const yStep = niceStep(Math.max(2, Math.max(...psnrs) - Math.min(...psnrs)) * 1.1, 6);
  const yMin = Math.floor((Math.min(...psnrs) - yStep * 0.3) / yStep) * yStep;
  const yMax = Math.ceil((Math.max(...psnrs) + yStep * 0.3) / yStep) * yStep;
  const sx = (bpp) => margin.left + ((bpp - xMin) / (xMax - xMin)) * (width - margin.left - margin.right);
  const sy = (psnr) => height - margin.bottom - ((psnr - yMin) / (yMax - yMin)) * (height - margin.top - margin.bottom);

  const svg = svgElement('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'PSNR against bits per pixel' });
  const grid = svgElement('g', { class: 'grid' }, svg);
  const axis = svgElement('g', { class: 'axis' }, svg);
  for (const value of ticks(xMin, xMax, xStep)) {
    svgElement('line', { x1: sx(value), x2: sx(value), y1: margin.top, y2: height - margin.bottom }, grid);
    svgElement('text', { x: sx(value), y: height - margin.bottom + 16, 'text-anchor': 'middle' }, axis).textContent = String(value);
  }
  for (const value of ticks(yMin, yMax, yStep)) {
    svgElement('line', { x1: margin.left, x2: width - margin.right, y1: sy(value), y2: sy(value) }, grid);
    svgElement('text', { x: margin.left - 8, y: sy(value) + 4, 'text-anchor': 'end' }, axis).textContent = String(value);
  }
  svgElement('text', { class: 'axis-title', x: (margin.left + width - margin.right) / 2, y: height - 8, 'text-anchor': 'middle' }, svg)
    .textContent = 'bits per pixel (bpp)';
  svgElement('text', { class: 'axis-title', transform: `translate(14 ${(margin.top + height - margin.bottom) / 2}) rotate(-90)`, 'text-anchor': 'middle' }, svg)
    .textContent = 'PSNR (dB)';

  for (const item of series) {
    const color = codecColor(item.codec);
    const group = svgElement('g', { class: 'series', 'data-codec': item.codec }, svg);
    const path = item.points.map((p, i) => `${i ? 'L' : 'M'}${sx(p.bpp).toFixed(1)} ${sy(p.psnr).toFixed(1)}`).join(' ');
    svgElement('path', { d: path, stroke: color }, group);
    for (const point of item.points) {
      const dot = svgElement('circle', { cx: sx(point.bpp), cy: sy(point.psnr), r: 4, fill: color }, group);
      svgElement('title', {}, dot).textContent =
        `${codecLabel(item.codec)} q ${formatQuality(point.quality)}: ${point.bpp.toFixed(3)} bpp, ${point.psnr.toFixed(2)} dB, ${formatBytes(point.bytes)}`;
      dot.addEventListener('click', () => showOnRight(item.codec, point.quality));
    }
    const key = element('span');
    const line = element('i');
    line.style.background = color;
    key.append(line, codecLabel(item.codec));
    legend.append(key);
  }
  for (const { side, point } of markers) {
    const color = '#0f172a';
    const group = svgElement('g', { class: 'side-marker' }, svg);
    svgElement('circle', { cx: sx(point.bpp), cy: sy(point.psnr), r: 8, stroke: color }, group);
    svgElement('text', { x: sx(point.bpp) + 11, y: sy(point.psnr) - 8, fill: color }, group).textContent = side === 'left' ? 'L' : 'R';
  }
  if (markers.length) {
    const key = element('span', {}, '◯ current left (L) and right (R) sides');
    legend.append(key);
  }
  plot.replaceChildren(svg);
}

function showOnRight(codec, quality) {
  const ui = state.sides.right.ui;
  $('.source', ui).value = codec;
  configureSide('right');
  $('.rate-mode', ui).value = 'quality';
  applyRateMode('right');
  $('.rate-value', ui).value = String(quality);
  $('.quality-range', ui).value = String(quality);
  scheduleUpdate('right', 0);
}

// ---------- wiring ----------

function init() {
  buildSides();
  bindFileInputs();
  bindViewer();
  $('#error-close').addEventListener('click', () => hideError());
  $('#rd-run').addEventListener('click', runSweep);
  applyView();
  loadServerInfo();
}

init();
