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
  };

  const say = (text) => { $("status").textContent = text; };

  async function act(body) {
    try {
      const response = await fetch("/ui/act", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ...body, user: state.user }),
      });
      if (!response.ok) say("That didn't go through. Please try again.");
    } catch (err) {
      say("The local workspace isn't answering. Is coprod still running?");
    }
  }

  // ---- live updates -------------------------------------------------------------------------------
  async function loop() {
    for (;;) {
      const waiting = state.version >= 0;
      const query = new URLSearchParams({ user: state.user, conv: state.conv });
      if (waiting) query.set("after", String(state.version));
      const controller = new AbortController();
      state.poll = controller;
      try {
        const response = await fetch(`/ui/view?${query}`, { signal: controller.signal, cache: "no-store" });
        apply(await response.json());
      } catch (err) {
        if (err.name !== "AbortError") await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  function restart() {
    state.version = -1;
    state.revs.clear();
    state.home = null;
    state.homeOpened = null;
    $("messages").replaceChildren();
    if (state.poll) state.poll.abort();
  }

  function apply(view) {
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
    $("composer").hidden = onHome;
    $("hint").hidden = onHome;
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
        values[id] = field ? field.value : null;
      }
    }
    return values;
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
        if (field && value !== null) field.value = value;
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

  $("modal").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    act({ act: "submit", view_id: form.dataset.viewId, values: formValues(form) });
  });

  $("modal").addEventListener("cancel", () => {
    const form = $("modal").querySelector("form[data-view-id]");
    if (form) act({ act: "close", view_id: form.dataset.viewId });
  });

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const field = $("composer-text");
    const text = field.value.trim();
    if (!text) return;
    field.value = "";
    act({ act: "type", conv: state.conv, text });
    say("Sent");
  });

  $("who").addEventListener("change", (event) => {
    state.user = event.target.value;
    localStorage.setItem("coprod.user", state.user);
    restart();
    say(`You are now ${event.target.selectedOptions[0].textContent}`);
  });

  loop();
})();
