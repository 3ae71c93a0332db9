// The local workspace's page: what one member sees, kept up to date by a long poll of /ui/view, and what
// they do sent to /ui/act. The HTML of messages, App Home and modals comes from the server, escaped there
// (bot/localslack/render.py); this script only places it, and builds everything else with textContent.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const state = {
    user: localStorage.getItem("coprod.user") || "",
    conv: localStorage.getItem("coprod.conv") || "",
    version: -1,
    revs: new Map(),
    modal: null, // [id, rev] shown
    home: null, // rev shown
    lists: "", // people and conversations shown, as JSON
    poll: null,
    homeOpened: null, // the member whose Home tab was last opened (Slack says so to the app each time)
    firstMessage: false,
    boot: "", // the run of coprod this page last heard from: another one means it restarted
    people: [], // [{id, name}] the @ list offers
    picked: [], // [{label, id}] members picked from the @ list for the message being typed
    down: false, // the page can't reach the local workspace
  };

  const say = (text) => { $("status").textContent = text; };

  // A visible notice while the local workspace (and coprod with it) can't be reached; gone once it can.
  function banner(text) {
    $("banner").textContent = text || "";
    $("banner").hidden = !text;
  }

  // What the member did, sent to the workspace; true when it arrived. When it didn't, they are told so.
  async function act(body) {
    try {
      const response = await fetch("/ui/act", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ...body, user: state.user }),
      });
      if (!response.ok) {
        say("That didn't go through. Please try again.");
        banner("That didn't go through. Please try again.");
        return false;
      }
      if (!state.down) banner(""); // an earlier "didn't go through" is over
      return true;
    } catch (err) {
      const what = body.act === "type" ? "your message was not sent" : "that was not sent";
      state.down = true;
      banner(`coprod isn't answering; ${what}. This page will reconnect by itself when it is back.`);
      say(`coprod isn't answering; ${what}.`);
      return false;
    }
  }

  // ---- live updates -------------------------------------------------------------------------------
  // The long poll; when the workspace can't be reached, a banner says so and the page tries again, waiting a
  // little longer each time (up to 8 s), then starts afresh from what the workspace now holds.
  async function loop() {
    let failures = 0;
    for (;;) {
      const waiting = state.version >= 0;
      const query = new URLSearchParams({ user: state.user, conv: state.conv, boot: state.boot });
      if (waiting) query.set("after", String(state.version));
      const controller = new AbortController();
      state.poll = controller;
      try {
        const response = await fetch(`/ui/view?${query}`, { signal: controller.signal, cache: "no-store" });
        if (!response.ok) throw new Error(`the workspace answered ${response.status}`);
        const view = await response.json();
        if (failures || state.down) {
          failures = 0;
          state.down = false;
          banner("");
          say("Connected again");
        }
        apply(view);
      } catch (err) {
        if (err.name === "AbortError") continue;
        failures += 1;
        state.down = true;
        // A notice already up (say, that a message was not sent) stays until the workspace answers again.
        if ($("banner").hidden) banner("The local workspace isn't answering: coprod may have stopped. Trying again…");
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** (failures - 1), 8000)));
      }
    }
  }

  function forget() {
    state.version = -1;
    state.revs.clear();
    state.home = null;
    state.homeOpened = null;
    state.modal = null;
    $("messages").replaceChildren();
  }

  function restart() {
    forget();
    if (state.poll) state.poll.abort();
  }

  function apply(view) {
    if (state.boot && view.boot !== state.boot) forget(); // coprod restarted: everything is shown afresh
    state.boot = view.boot;
    state.user = view.user;
    state.conv = view.conv;
    const onHome = view.conv === "home";
    if (onHome && state.homeOpened !== view.user) {
      state.homeOpened = view.user;
      act({ act: "home" });
    } else if (!onHome) {
      state.homeOpened = null;
    }
    lists(view);
    $("messages").hidden = onHome;
    $("composer").hidden = onHome; // Slack's Home tab has no message box
    $("hint").hidden = onHome;
    if (onHome) closeMentions();
    $("home").hidden = !onHome;
    if (onHome) showHome(view.home);
    else showMessages(view.messages);
    showModal(view.modal);
    state.version = view.version;
  }

  function lists(view) {
    const key = JSON.stringify([view.user, view.conv, view.people, view.conversations]);
    if (key === state.lists) return;
    state.lists = key;
    state.people = view.people;
    const who = $("who");
    who.replaceChildren(...view.people.map((p) => {
      const option = document.createElement("option");
      option.value = p.id;
      option.textContent = p.title ? `${p.name} (${p.title})` : p.name;
      option.selected = p.id === view.user;
      return option;
    }));
    $("conversations").replaceChildren(...view.conversations.map((c) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = `conv ${c.kind}`;
      button.dataset.conv = c.id;
      button.textContent = c.label;
      if (c.id === view.conv) button.setAttribute("aria-current", "page");
      item.append(button);
      return item;
    }));
    const here = view.conversations.find((c) => c.id === view.conv);
    $("title").textContent = here ? here.label : "";
    $("composer-text").setAttribute("aria-label", here ? `Message ${here.label}` : "Message");
  }

  function fromHtml(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content.firstElementChild;
  }

  // Replace a node, keeping the keyboard focus on the same control if it was inside.
  function swap(old, fresh) {
    const active = document.activeElement;
    const focusKey = old.contains(active) && active.dataset ? active.dataset.focus : null;
    old.replaceWith(fresh);
    if (focusKey) {
      const again = fresh.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`);
      if (again) again.focus();
    }
  }

  function showMessages(list) {
    const box = $("messages");
    const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 60 || box.children.length === 0;
    const wanted = new Set(list.map((m) => m.key));
    for (const node of [...box.children]) {
      if (!wanted.has(node.dataset.key)) {
        node.remove();
        state.revs.delete(node.dataset.key);
      }
    }
    let previous = null;
    for (const m of list) {
      let node = box.querySelector(`:scope > [data-key="${CSS.escape(m.key)}"]`);
      if (!node || state.revs.get(m.key) !== m.rev) {
        const fresh = fromHtml(m.html);
        if (node) swap(node, fresh);
        node = fresh;
        state.revs.set(m.key, m.rev);
      }
      const expected = previous ? previous.nextElementSibling : box.firstElementChild;
      if (expected !== node) box.insertBefore(node, expected);
      previous = node;
    }
    if (atEnd) box.scrollTop = box.scrollHeight;
    if (list.length && !state.firstMessage) {
      state.firstMessage = true;
      performance.mark("coprod:first-message");
    }
  }

  function showHome(home) {
    if (!home || state.home === home.rev) return;
    state.home = home.rev;
    const box = $("home");
    const fresh = document.createElement("div");
    fresh.innerHTML = home.html;
    if (box.firstElementChild) swap(box.firstElementChild, fresh.firstElementChild);
    else box.replaceChildren(fresh.firstElementChild);
  }

  // ---- modals ----------------------------------------------------------------------------------------
  function formValues(form) {
    const values = {};
    for (const input of form.querySelectorAll("[data-block-id][data-kind]")) {
      const id = input.dataset.blockId;
      const kind = input.dataset.kind;
      if (kind === "checkboxes") {
        values[id] = [...input.querySelectorAll("input:checked")].map((box) => box.value);
      } else if (kind === "radio_buttons") {
        const chosen = input.querySelector("input:checked");
        values[id] = chosen ? chosen.value : null;
      } else {
        const field = input.querySelector("textarea, input, select");
        values[id] = field ? fieldValue(field) : null;
      }
    }
    return values;
  }

  // A control's value: a multi-select's as a list of what is picked.
  function fieldValue(field) {
    if (field.tagName === "SELECT" && field.multiple) return [...field.selectedOptions].map((o) => o.value);
    return field.value;
  }

  // Put back what the person had entered when the same form comes back (with errors, say).
  function refill(form, values) {
    for (const input of form.querySelectorAll("[data-block-id][data-kind]")) {
      const value = values[input.dataset.blockId];
      if (value === undefined) continue;
      const kind = input.dataset.kind;
      if (kind === "checkboxes" || kind === "radio_buttons") {
        const picked = Array.isArray(value) ? value : [value];
        for (const box of input.querySelectorAll("input")) box.checked = picked.includes(box.value);
      } else {
        const field = input.querySelector("textarea, input, select");
        if (field && field.tagName === "SELECT" && field.multiple && Array.isArray(value)) {
          for (const option of field.options) option.selected = value.includes(option.value);
        } else if (field && value !== null) {
          field.value = value;
        }
      }
    }
  }

  function showModal(modal) {
    const dialog = $("modal");
    if (!modal) {
      state.modal = null;
      if (dialog.open) dialog.close();
      return;
    }
    if (state.modal && state.modal[0] === modal.id && state.modal[1] === modal.rev) return;
    const old = dialog.querySelector("form");
    const sameView = state.modal && state.modal[0] === modal.id && old;
    const entered = sameView ? formValues(old) : null;
    dialog.innerHTML = modal.html;
    const form = dialog.querySelector("form");
    if (entered) refill(form, entered);
    state.modal = [modal.id, modal.rev];
    if (!dialog.open) dialog.showModal();
    const wrong = form.querySelector("[aria-invalid='true'] input, [aria-invalid='true'], .sk-error");
    const first = wrong || form.querySelector("input, textarea, select, button");
    if (first && typeof first.focus === "function") first.focus();
  }

  // ---- what the person does --------------------------------------------------------------------------
  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-act], [data-conv]");
    if (!target) return;
    if (target.dataset.conv) {
      state.conv = target.dataset.conv;
      localStorage.setItem("coprod.conv", state.conv);
      restart();
      return;
    }
    const kind = target.dataset.act;
    if (kind === "click") {
      const article = target.closest("article[data-key]");
      const view = target.closest("[data-view-id]");
      const where = article ? state.conv : "view";
      const key = article ? article.dataset.key : view ? view.dataset.viewId : "";
      act({ act: "click", where, key, block_id: target.dataset.blockId, action_id: target.dataset.actionId,
            value: target.dataset.value });
    } else if (kind === "dismiss") {
      act({ act: "dismiss", key: target.closest("article[data-key]").dataset.key });
    } else if (kind === "close") {
      const form = target.closest("form[data-view-id]");
      act({ act: "close", view_id: form.dataset.viewId });
      $("modal").close();
    }
  });

  // A select, date picker, overflow menu or checkbox in a message or on Home: sent as soon as it changes, as
  // Slack sends a block_actions payload (a modal's inputs wait for Submit).
  document.addEventListener("change", (event) => {
    const target = event.target.closest("[data-act='choose']");
    if (!target) return;
    const kind = target.dataset.kind;
    let selected;
    if (kind === "checkboxes") selected = [...target.querySelectorAll("input:checked")].map((box) => box.value);
    else if (kind === "radio_buttons") selected = (target.querySelector("input:checked") || {}).value || "";
    else selected = fieldValue(target);
    if (selected === "" && kind !== "checkboxes") return;
    const article = target.closest("article[data-key]");
    const view = target.closest("[data-view-id]");
    act({ act: "click", where: article ? state.conv : "view",
          key: article ? article.dataset.key : view ? view.dataset.viewId : "",
          block_id: target.dataset.blockId, action_id: target.dataset.actionId, value: "", selected });
    if (kind === "overflow") target.value = ""; // a menu of actions, not a choice that stays
  });

  $("modal").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    act({ act: "submit", view_id: form.dataset.viewId, values: formValues(form) });
  });

  $("modal").addEventListener("cancel", () => {
    const form = $("modal").querySelector("form[data-view-id]");
    if (form) act({ act: "close", view_id: form.dataset.viewId });
  });

  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = $("composer-text");
    const text = field.value.trim();
    if (!text) return;
    const mentions = state.picked.filter((m) => text.includes(m.label));
    field.value = "";
    state.picked = [];
    closeMentions();
    if (await act({ act: "type", conv: state.conv, text, mentions })) {
      say("Sent");
    } else if (!field.value) {
      field.value = text; // not sent: kept, to send again
      state.picked = mentions;
    }
  });

  // ---- @ names a member, as in Slack: a list of matching members, and the one picked becomes a mention ----
  const AT = /(^|\s)@([^\s@]*)$/;

  function closeMentions() {
    $("mentions").hidden = true;
    $("mentions").replaceChildren();
    $("composer-text").setAttribute("aria-expanded", "false");
    $("composer-text").removeAttribute("aria-activedescendant");
  }

  function mentionQuery() {
    const field = $("composer-text");
    const found = AT.exec(field.value.slice(0, field.selectionStart));
    return found ? found[2] : null;
  }

  function showMentions() {
    const query = mentionQuery();
    if (query === null) { closeMentions(); return; }
    const wanted = query.toLowerCase();
    const matching = state.people.filter((p) =>
      p.name.toLowerCase().split(/\s+/).some((word) => word.startsWith(wanted))
      || p.name.toLowerCase().startsWith(wanted)).slice(0, 8);
    if (!matching.length) { closeMentions(); return; }
    $("mentions").replaceChildren(...matching.map((p, n) => {
      const item = document.createElement("li");
      item.id = `mention-${p.id}`;
      item.setAttribute("role", "option");
      item.dataset.id = p.id;
      item.dataset.name = p.name;
      item.textContent = p.title ? `${p.name} (${p.title})` : p.name;
      item.setAttribute("aria-selected", n === 0 ? "true" : "false");
      return item;
    }));
    $("mentions").hidden = false;
    $("composer-text").setAttribute("aria-expanded", "true");
    $("composer-text").setAttribute("aria-activedescendant", `mention-${matching[0].id}`);
  }

  function pickMention(item) {
    const field = $("composer-text");
    const before = field.value.slice(0, field.selectionStart);
    const after = field.value.slice(field.selectionStart);
    const label = `@${item.dataset.name}`;
    const start = before.replace(AT, (all, space) => space);
    field.value = `${start}${label} ${after.replace(/^\s+/, "")}`;
    const caret = start.length + label.length + 1;
    field.setSelectionRange(caret, caret);
    state.picked.push({ label, id: item.dataset.id });
    closeMentions();
    field.focus();
  }

  function moveMention(step) {
    const items = [...$("mentions").children];
    const at = items.findIndex((i) => i.getAttribute("aria-selected") === "true");
    const next = items[(at + step + items.length) % items.length];
    for (const i of items) i.setAttribute("aria-selected", i === next ? "true" : "false");
    $("composer-text").setAttribute("aria-activedescendant", next.id);
  }

  $("composer-text").addEventListener("input", showMentions);
  $("composer-text").addEventListener("keydown", (event) => {
    if ($("mentions").hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      moveMention(event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      pickMention($("mentions").querySelector("[aria-selected='true']"));
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeMentions();
    }
  });
  $("composer-text").addEventListener("blur", () => setTimeout(closeMentions, 150));
  $("mentions").addEventListener("mousedown", (event) => {
    const item = event.target.closest("li[data-id]");
    if (!item) return;
    event.preventDefault(); // keep the focus (and the caret) in the message box
    pickMention(item);
  });

  $("who").addEventListener("change", (event) => {
    state.user = event.target.value;
    state.picked = [];
    localStorage.setItem("coprod.user", state.user);
    restart();
    say(`You are now ${event.target.selectedOptions[0].textContent}`);
  });

  loop();
})();
