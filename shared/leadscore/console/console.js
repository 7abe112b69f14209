// The sales console: hot and warm leads, why each scored, and one-click follow-ups, from the read API.
// No framework and no build step. Every value from the API reaches the page as text (textContent or
// Text nodes), never as HTML; ids are URL-encoded. The read key lives in sessionStorage (this tab's
// session only), the salesperson's name in localStorage.
'use strict';

(() => {
  const KEY = 'leadscore.readKey';
  const NAME = 'leadscore.name';
  const PAGE_SIZE = 50;
  const LABELS = { contacted: 'Contacted', meeting_booked: 'Meeting booked', disqualified: 'Disqualified', converted: 'Converted', lost: 'Lost' };
  const numbers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  const $ = (id) => document.getElementById(id);

  let generation = 0; // the navigation being shown; answers for an older one are dropped
  let listing = { band: 'hot', cursor: null };
  let current = null; // the lead on screen

  class ApiError extends Error {
    constructor(code, message, handled = false) {
      super(message);
      this.code = code;
      this.handled = handled;
    }
  }

  // An element with attributes and children; strings become Text nodes.
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'class') node.className = value;
      else node.setAttribute(name, String(value));
    }
    fillNode(node, children);
    return node;
  }

  function fillNode(node, children) {
    const nodes = children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== '');
    node.replaceChildren(...nodes.map((child) => (child instanceof Node ? child : String(child))));
  }

  const fill = (id, ...children) => fillNode($(id), children);
  const fmt = (value) => (typeof value === 'number' ? numbers.format(value) : '—');
  const signed = (value) => (value > 0 ? '+' : '') + fmt(value);
  const leadHref = (id) => '#/lead/' + encodeURIComponent(id);

  function ago(iso) {
    const seconds = (Date.now() - Date.parse(iso)) / 1000;
    if (!Number.isFinite(seconds)) return String(iso);
    for (const [unit, size] of [['d', 86400], ['h', 3600], ['min', 60]]) {
      if (seconds >= size) return `${Math.floor(seconds / size)} ${unit} ago`;
    }
    return 'just now';
  }

  // A <time> saying how long ago, the exact local time as its tooltip.
  function when(iso) {
    if (!iso) return '—';
    return el('time', { datetime: iso, title: new Date(iso).toLocaleString() }, ago(iso));
  }

  function message(text, kind = 'info') {
    const box = $('message');
    box.textContent = text || '';
    box.className = kind;
    box.hidden = !text;
  }

  function fail(error) {
    if (error.handled) return;
    message(error.code ? `${error.message} (${error.code})` : error.message, 'error');
  }

  // One API call: the read key as a bearer token. A 401 forgets the key and asks for it again.
  async function api(path, body) {
    const init = {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${sessionStorage.getItem(KEY)}`, Accept: 'application/json' },
      credentials: 'omit', // no cookies, and no browser login dialog on a 401
      cache: 'no-store',
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      throw new ApiError('network', `The service could not be reached: ${error.message}`);
    }
    const data = await response.json().catch(() => null);
    const code = (data && data.code) || `http_${response.status}`;
    const text = (data && data.message) || response.statusText || 'The service answered an error';
    if (response.status === 401) {
      sessionStorage.removeItem(KEY);
      showKey(`The read key was refused: ${text}. Enter it again.`);
      throw new ApiError(code, text, true);
    }
    if (!response.ok) throw new ApiError(code, text);
    if (data === null) throw new ApiError('bad_answer', 'The service answered something that is not JSON');
    return data;
  }

  function show(view) {
    for (const id of ['key-view', 'list-view', 'lead-view']) $(id).hidden = id !== view;
    const signedIn = view !== 'key-view';
    $('forget').hidden = !signedIn;
    $('who').textContent = signedIn ? localStorage.getItem(NAME) || '' : '';
  }

  function route() {
    const navigation = ++generation;
    current = null;
    if (!sessionStorage.getItem(KEY) || !localStorage.getItem(NAME)) return showKey();
    const hash = location.hash.replace(/^#/, '') || '/leads?band=hot';
    const lead = /^\/lead\/(.+)$/.exec(hash);
    if (lead) {
      let id;
      try {
        id = decodeURIComponent(lead[1]);
      } catch {
        return message('That link does not name a lead.', 'error');
      }
      return showLead(id, navigation);
    }
    const band = new URLSearchParams(hash.split('?')[1] || '').get('band') === 'warm' ? 'warm' : 'hot';
    return showList(band, navigation, false);
  }

  // The key prompt; the message (if any) says why it is shown again.
  function showKey(text) {
    generation += 1;
    show('key-view');
    $('key-input').value = '';
    $('name-input').value = localStorage.getItem(NAME) || '';
    if (text) message(text, 'error');
    $('key-input').focus();
  }

  // --- list view -----------------------------------------------------------------------------------

  async function showList(band, navigation, more) {
    show('list-view');
    $('back').setAttribute('href', `#/leads?band=${band}`);
    for (const tab of document.querySelectorAll('[data-band]')) {
      if (tab.dataset.band === band) tab.setAttribute('aria-current', 'page');
      else tab.removeAttribute('aria-current');
    }
    if (!more) {
      listing = { band, cursor: null };
      fill('lead-rows');
    }
    $('more').hidden = true;
    $('list-status').textContent = 'Loading…';
    const query = new URLSearchParams({ band, limit: String(PAGE_SIZE) });
    if (listing.cursor) query.set('cursor', listing.cursor);
    try {
      const page = await api(`/v1/leads?${query}`);
      if (navigation !== generation) return;
      $('lead-rows').append(...(page.leads || []).map(leadRow));
      listing.cursor = page.next_cursor || null;
      $('more').hidden = !listing.cursor;
      const none = $('lead-rows').children.length === 0;
      $('list-status').textContent = none ? `No ${band} leads right now.` : '';
    } catch (error) {
      if (navigation !== generation) return;
      $('list-status').textContent = '';
      fail(error);
    }
  }

  function leadRow(lead) {
    const cell = (label, ...content) => el('td', { 'data-label': label }, ...content);
    const name = el('a', { href: leadHref(lead.lead_id) }, lead.name || lead.lead_id);
    return el(
      'tr',
      { 'data-lead': lead.lead_id },
      el('th', { scope: 'row', 'data-label': 'Lead' }, name, lead.name ? el('span', { class: 'sub' }, lead.lead_id) : null),
      cell('Company', lead.company || lead.account_id || '—'),
      cell('Score', el('strong', { class: 'score' }, fmt(lead.score))),
      cell('Fit', fmt(lead.fit)),
      cell('Engagement', fmt(lead.engagement)),
      cell('Grade', el('span', { class: 'grade' }, lead.grade)),
      cell('Turned hot', when(lead.turned_hot_at)),
      cell('Follow-up', waitingBadge(lead.waiting_since), followUpText(lead.follow_up)),
    );
  }

  function waitingBadge(since) {
    return since ? el('span', { class: 'badge waiting' }, 'Waiting since ', when(since)) : null;
  }

  function followUpText(followUp) {
    if (!followUp) return el('span', { class: 'muted' }, 'No follow-up yet');
    const label = LABELS[followUp.status] || followUp.status;
    return el('span', { class: 'follow-up' }, `${label} by ${followUp.by}, `, when(followUp.at));
  }

  // --- lead view -----------------------------------------------------------------------------------

  async function showLead(id, navigation) {
    show('lead-view');
    $('lead-status').textContent = 'Loading…';
    let lead;
    try {
      lead = await api(`/v1/leads/${encodeURIComponent(id)}`);
    } catch (error) {
      if (navigation === generation) {
        $('lead-status').textContent = '';
        $('lead-body').hidden = true;
        fail(error);
      }
      return;
    }
    if (navigation !== generation) return;
    current = lead;
    $('lead-status').textContent = '';
    renderHeadline(lead);
    renderFollowUp(lead);
    renderWhy(lead.explanation || []);
    renderTimeline(lead);
    $('lead-body').hidden = false;
    await renderAccount(lead, navigation);
  }

  function personName(profile, fallback) {
    const name = profile.name || [profile.first_name || profile.firstName, profile.last_name || profile.lastName]
      .filter(Boolean)
      .join(' ');
    return String(name || profile.email || fallback);
  }

  function renderHeadline(lead) {
    const profile = lead.profile || {};
    $('lead-name').textContent = personName(profile, lead.lead_id);
    $('lead-sub').textContent = [profile.title, profile.company || lead.account_id, profile.country, lead.lead_id]
      .filter(Boolean)
      .join(' · ');
    const facts = [
      ['Score', el('strong', { class: 'score' }, fmt(lead.score))],
      ['Band', el('span', { class: `band band-${lead.band}` }, lead.band)],
      ['Stage', lead.stage],
      ['Grade', el('span', { class: 'grade' }, lead.grade)],
      ['Fit', fmt(lead.fit)],
      ['Engagement', fmt(lead.engagement)],
    ];
    fill('lead-facts', facts.map(([term, value]) => el('div', {}, el('dt', {}, term), el('dd', {}, value))));
    const disqualified = (lead.disqualification_reasons || []).map((reason) => `Disqualified: ${reason}`);
    if (lead.disqualified && disqualified.length === 0) disqualified.push('Disqualified');
    const fastTracked = (lead.fast_track_reasons || []).map((reason) => `Fast-tracked: ${reason}`);
    fill('lead-reasons', [...disqualified, ...fastTracked].map((reason) => el('li', {}, reason)));
  }

  function renderFollowUp(lead) {
    fill('waiting', lead.waiting_since ? waitingBadge(lead.waiting_since) : null);
    fill('follow-state', followUpText(lead.follow_up));
    const outcome = lead.outcome;
    if (!outcome) return fill('outcome-state', el('span', { class: 'muted' }, 'No outcome yet'));
    const value = typeof outcome.value === 'number' ? ` (value ${fmt(outcome.value)})` : '';
    fill('outcome-state', LABELS[outcome.outcome] || outcome.outcome, value, ', ', when(outcome.at));
  }

  // One bar per rule: its length the points it gives now; an engagement rule's decayed part (earned minus
  // points) drawn beside it, lighter. Every bar on the same scale.
  function renderWhy(items) {
    const scale = Math.max(1, ...items.map((item) => Math.abs(item.points) + Math.abs(item.decayed || 0)));
    const width = (value) => `${((100 * Math.abs(value)) / scale).toFixed(2)}%`;
    fill(
      'why',
      items.map((item) => {
        const decayed = Math.abs(item.decayed || 0);
        const kept = el('span', { class: 'kept' });
        kept.style.width = width(item.points);
        const lost = decayed > 0 ? el('span', { class: 'decayed', title: `${fmt(decayed)} decayed` }) : null;
        if (lost) lost.style.width = width(decayed);
        const detail = [
          item.dimension,
          item.count > 1 ? `${item.count} times` : null,
          item.dimension === 'engagement' && item.last_at ? `last ${ago(item.last_at)}` : null,
          decayed > 0 ? `earned ${fmt(item.earned)}, ${fmt(decayed)} decayed` : null,
        ];
        const label = `${signed(item.points)} points` + (decayed > 0 ? `, ${fmt(decayed)} decayed` : '');
        return el(
          'li',
          { class: `rule ${item.points < 0 ? 'negative' : item.dimension}`, 'data-rule': item.rule },
          el('div', { class: 'rule-head' }, el('span', {}, item.description || item.rule), el('strong', {}, signed(item.points))),
          el('div', { class: 'track', role: 'img', 'aria-label': label }, kept, lost),
          el('div', { class: 'rule-detail muted' }, detail.filter(Boolean).join(' · ')),
        );
      }),
    );
    if (items.length === 0) fill('why', el('li', { class: 'muted' }, 'No rule has scored yet.'));
  }

  function renderTimeline(lead) {
    const entries = (lead.recent_activity || []).map((item) => {
      const times = item.count > 1 ? ` (${item.count} times)` : '';
      const points = el('span', { class: 'points' }, signed(item.points));
      return el('li', { 'data-rule': item.rule }, when(item.last_at), ' ', item.description || item.rule, times, ' ', points);
    });
    if (lead.last_activity) entries.unshift(el('li', { class: 'edge' }, when(lead.last_activity), ' Last activity'));
    if (lead.first_seen) entries.push(el('li', { class: 'edge' }, when(lead.first_seen), ' First seen'));
    fill('timeline', entries.length ? entries : el('li', { class: 'muted' }, 'No activity yet.'));
  }

  async function renderAccount(lead, navigation) {
    if (!lead.account_id) {
      $('account-title').textContent = 'Account';
      $('account-summary').textContent = 'Not linked to an account.';
      return fill('people');
    }
    $('account-title').textContent = `Others at ${lead.account_id}`;
    $('account-summary').textContent = 'Loading…';
    fill('people');
    try {
      const account = await api(`/v1/accounts/${encodeURIComponent(lead.account_id)}`);
      if (navigation !== generation) return;
      const people = `${account.people} ${account.people === 1 ? 'person' : 'people'}`;
      $('account-summary').textContent = `Account score ${fmt(account.score)} (${account.band}): ${people}, ${account.engaged_people} engaged.`;
      const others = (account.members || []).filter((member) => member.lead_id !== lead.lead_id);
      const person = (member) => {
        const about = ` score ${fmt(member.score)}, ${member.band}, grade ${member.grade}`;
        const link = el('a', { href: leadHref(member.lead_id) }, member.lead_id);
        return el('li', { 'data-lead': member.lead_id }, link, el('span', { class: 'muted' }, about));
      };
      fill('people', others.length ? others.map(person) : el('li', { class: 'muted' }, 'No one else from this account yet.'));
    } catch (error) {
      if (navigation === generation && !error.handled) $('account-summary').textContent = error.message;
    }
  }

  // One click records a follow-up (with the salesperson's name) or an outcome, then shows the lead again.
  async function record(button) {
    if (!current) return;
    const lead = current;
    let path;
    let body;
    if (button.dataset.status) {
      path = 'status';
      body = { status: button.dataset.status, by: localStorage.getItem(NAME) || '' };
    } else {
      path = 'outcome';
      body = { outcome: button.dataset.outcome };
      const value = $('value-input').value.trim();
      if (body.outcome === 'converted' && value !== '') {
        body.value = Number(value);
        if (!Number.isFinite(body.value) || body.value < 0) return message('The deal value must be a number, 0 or more.', 'error');
      }
    }
    const buttons = document.querySelectorAll('#lead-view .actions button');
    buttons.forEach((each) => (each.disabled = true));
    try {
      const answer = await api(`/v1/leads/${encodeURIComponent(lead.lead_id)}/${path}`, body);
      const what = LABELS[answer.status || answer.outcome] || button.textContent;
      message(
        answer.kept ? `Recorded: ${what}.` : `Not recorded: a later ${path === 'status' ? 'follow-up' : 'outcome'} is already kept.`,
        answer.kept ? 'ok' : 'error',
      );
      $('value-input').value = '';
      if (current === lead) await showLead(lead.lead_id, generation);
    } catch (error) {
      fail(error);
    } finally {
      buttons.forEach((each) => (each.disabled = false));
    }
  }

  function start() {
    $('key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const key = $('key-input').value.trim();
      const name = $('name-input').value.trim();
      if (!key || !name) return message('Enter the read key and your name.', 'error');
      sessionStorage.setItem(KEY, key);
      localStorage.setItem(NAME, name);
      message('');
      route();
    });
    $('forget').addEventListener('click', () => {
      sessionStorage.removeItem(KEY);
      message('The key is forgotten in this browser.', 'ok');
      showKey();
    });
    $('more').addEventListener('click', () => showList(listing.band, generation, true));
    $('lead-view').addEventListener('click', (event) => {
      const button = event.target.closest('button[data-status], button[data-outcome]');
      if (button) record(button);
    });
    window.addEventListener('hashchange', () => {
      message('');
      route();
    });
    route();
  }

  start();
})();
