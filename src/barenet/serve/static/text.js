// barenet serve, text page: stream generated characters from /api/generate, and for the
// character under the pointer ask /api/attention what the model expected next and where each
// attention head looked. Plain JavaScript, no libraries; every picture is drawn here.
"use strict";

const $ = (id) => document.getElementById(id);
const GRID_HEIGHT = 400;  // CSS pixels the heads' squares share, top to bottom, about
const VISIBLE = { "\n": "↵", " ": "␣", "\t": "⇥" };  // characters that would not show on their own
const shown = (character) => VISIBLE[character] || character;
const state = {
  text: "", promptLength: 0, spans: [], context: 1, selected: -1, pinned: false,
  controller: null, asking: false, answer: null, cache: new Map(),
};
const body = document.body.dataset;

// ---- generating -----------------------------------------------------------------------------

function readSettings() {
  const settings = { prompt: $("prompt").value };
  for (const [key, id, empty] of [["length", "length"], ["temperature", "temperature"],
    ["top_k", "top-k", null], ["seed", "seed", null]]) {
    const value = $(id).value.trim();
    if (value !== "") settings[key] = Number(value);
    else if (empty === null) settings[key] = null;  // blank: all characters, a random seed
  }
  return settings;
}

async function generateText() {
  if (state.controller) state.controller.abort();
  const controller = new AbortController();
  state.controller = controller;
  const settings = readSettings();
  showError("");
  startText(settings.prompt);
  setGenerating(true);
  try {
    const response = await fetch("/api/generate", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(settings),
      signal: controller.signal,
    });
    if (!response.ok) throw new Error((await response.json()).error || `error ${response.status}`);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const character of decoder.decode(value, { stream: true })) addCharacter(character, false);
      body.generated = String(state.text.length - state.promptLength);
    }
    if (state.selected < 0 && state.text.length) select(state.text.length - 1);
  } catch (error) {
    if (error.name !== "AbortError") showError(error.message);
  } finally {
    if (state.controller === controller) {
      state.controller = null;
      setGenerating(false);
    }
  }
}

function setGenerating(on) {
  body.generating = on ? "1" : "0";
  $("generate").disabled = on;
  $("stop").disabled = !on;
}

function startText(prompt) {
  state.text = "";
  state.spans = [];
  state.selected = -1;
  state.pinned = false;
  $("output").replaceChildren();
  for (const character of prompt) addCharacter(character, true);
  state.promptLength = state.text.length;
  body.generated = "0";
}

function addCharacter(character, inPrompt) {
  const element = document.createElement("span");
  element.textContent = character === "\n" ? "↵\n" : character;
  element.dataset.index = String(state.text.length);
  if (inPrompt) element.classList.add("prompt");
  if (character === "\n") element.classList.add("newline");
  state.text += character;
  state.spans.push(element);
  const output = $("output");
  const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
  output.append(element);
  if (atBottom) output.scrollTop = output.scrollHeight;
}

// ---- choosing a character -----------------------------------------------------------------

function spanIndex(event) {
  const element = event.target.closest("#output span");
  return element ? Number(element.dataset.index) : -1;
}

$("output").addEventListener("mouseover", (event) => {
  const index = spanIndex(event);
  if (index >= 0 && !state.pinned) select(index);
});
$("output").addEventListener("click", (event) => {
  const index = spanIndex(event);
  if (index < 0) return;
  state.pinned = !(state.pinned && state.selected === index);  // a second click lets go
  select(index);
});

function contextStart(index) {
  return Math.max(0, index + 1 - state.context);
}

function select(index) {
  state.selected = index;
  const start = contextStart(index);
  state.spans.forEach((element, i) => {
    element.classList.toggle("selected", i === index);
    element.classList.toggle("context", i >= start && i <= index);
    element.style.backgroundColor = "";
  });
  askAttention();
}

async function askAttention() {
  if (state.asking) return;  // the answer in flight asks again for the latest choice when it lands
  state.asking = true;
  body.pending = "1";
  try {
    for (;;) {
      const index = state.selected;
      const piece = state.text.slice(contextStart(index), index + 1);
      if (!state.cache.has(piece)) state.cache.set(piece, await postJSON("/api/attention", { text: piece }));
      if (state.selected !== index) continue;
      showAttention(index, state.cache.get(piece));
      break;
    }
  } catch (error) {
    showError(error.message);
  } finally {
    state.asking = false;
    body.pending = "0";
  }
}

async function postJSON(url, value) {
  const response = await fetch(url, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(value),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || `${url}: ${response.status}`);
  return answer;
}

// ---- what it expected, where it looked -----------------------------------------------------

function showAttention(index, answer) {
  state.answer = answer;
  const last = answer.tokens.length - 1;
  const tail = answer.tokens.slice(-24).map(shown).join("");
  $("next-after").textContent = `after “${answer.tokens.length > 24 ? "…" : ""}${tail}”`;
  const actual = index + 1 < state.text.length ? state.text[index + 1] : null;
  showBars(answer.next[last], actual);
  $("next-note").replaceChildren(actual === null ? "The text ends here." : "What came next: ",
    ...(actual === null ? [] : [span(shown(actual), "legend-actual"),
      index + 1 < state.promptLength ? " (you wrote it)." : " (drawn with the settings above)."]));
  drawHeads(answer.layers, last);
  body.shown = String(Number(body.shown || 0) + 1);
}

function span(text, kind) {
  const element = document.createElement("span");
  element.className = kind;
  element.textContent = text;
  return element;
}

function showBars(next, actual) {
  $("bars").replaceChildren(...next.characters.map((character, i) => {
    const item = document.createElement("li");
    item.innerHTML = '<span class="label"></span><span class="track"><span class="fill"></span></span><span class="value"></span>';
    item.classList.toggle("top", i === 0);
    item.classList.toggle("actual", character === actual);
    item.querySelector(".label").textContent = shown(character);
    item.querySelector(".label").title = JSON.stringify(character);
    const fill = item.querySelector(".fill");
    fill.style.display = "block";
    fill.style.width = `${100 * next.probabilities[i]}%`;
    item.querySelector(".value").textContent = `${(100 * next.probabilities[i]).toFixed(1)}%`;
    return item;
  }));
}

function drawHeads(layers, row) {
  const grid = $("attention");
  if (!layers.length) {
    grid.replaceChildren();
    return;
  }
  const heads = layers[0].length;
  grid.style.gridTemplateColumns = `auto repeat(${heads}, auto)`;
  const cells = [document.createElement("span")];
  for (let h = 0; h < heads; h++) cells.push(label(`head ${h + 1}`, "head-label"));
  layers.forEach((layer, l) => {
    cells.push(label(`layer ${l + 1}`, "layer-label"));
    const side = Math.max(96, Math.min(200, GRID_HEIGHT / layers.length));  // 2 layers: 200 px, 6: 96 px
    layer.forEach((weights, h) => cells.push(headCanvas(weights, row, side, `layer ${l + 1}, head ${h + 1}`)));
  });
  grid.replaceChildren(...cells);
}

function label(text, kind) {
  const element = document.createElement("span");
  element.className = kind;
  element.textContent = text;
  return element;
}

function headCanvas(weights, row, side, name) {
  const t = weights.length;
  const scale = Math.max(1, Math.floor(side / t));
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = t * scale;
  canvas.style.width = canvas.style.height = `${t * scale}px`;
  canvas.setAttribute("aria-label", `${name}: attention of every character to the ones before it`);
  const context = canvas.getContext("2d");
  const image = context.createImageData(t * scale, t * scale);
  for (let r = 0; r < t; r++) {
    const dim = r === row ? 1 : 0.6;  // the selected character's row at full brightness
    for (let c = 0; c < t; c++) {
      const [red, green, blue] = heat(Math.sqrt(weights[r][c])).map((v) => Math.round(v * dim));
      for (let y = r * scale; y < (r + 1) * scale; y++) {
        for (let x = c * scale; x < (c + 1) * scale; x++) image.data.set([red, green, blue, 255], 4 * (y * t * scale + x));
      }
    }
  }
  context.putImageData(image, 0, 0);
  context.strokeStyle = "#4f8ff7";
  context.lineWidth = Math.max(1, Math.min(2, scale / 2));
  context.strokeRect(0, row * scale, t * scale, scale);
  canvas.title = `${name}; point to colour the text by where it looked`;
  canvas.addEventListener("mouseenter", () => tintText(weights[row], canvas));
  canvas.addEventListener("mouseleave", () => tintText(null, canvas));
  return canvas;
}

function tintText(row, canvas) {  // the text under the context, coloured by one head's attention
  canvas.classList.toggle("pointed", row !== null);
  const start = contextStart(state.selected);
  state.spans.forEach((element, i) => {
    const weight = row && i >= start && i <= state.selected ? row[i - start] : 0;
    element.style.backgroundColor = weight ? `rgba(230, 90, 0, ${Math.sqrt(weight).toFixed(3)})` : "";
  });
}

const clamp = (v) => Math.max(0, Math.min(1, v));
function heat(v) {  // black -> red -> yellow -> white, as the digit page's activations
  v = clamp(v);
  return [Math.round(255 * clamp(3 * v)), Math.round(255 * clamp(3 * v - 1)), Math.round(255 * clamp(3 * v - 2))];
}

// ---- starting --------------------------------------------------------------------------------

function showError(message) {
  $("status").textContent = message;
}

$("generate").addEventListener("click", generateText);
$("stop").addEventListener("click", () => state.controller && state.controller.abort());
$("prompt").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) generateText();
});

async function start() {
  body.generating = "0";
  body.pending = "0";
  try {
    const response = await fetch("/api/model");
    const model = await response.json();
    if (!response.ok) throw new Error(model.error);
    const text = model.text;
    state.context = text.context;
    const shape = text.attention_layers ? `${text.attention_layers} layers × ${text.heads} heads · ` : "";
    $("model-line").textContent = `${model.source} · ${shape}context ${text.context} characters · ` +
      `${text.vocabulary.length} characters known · ${model.parameters.toLocaleString()} parameters`;
    const limits = text.limits;
    $("length").max = limits.max_length;
    $("temperature").max = limits.max_temperature;
    $("top-k").max = limits.max_top_k;
    $("top-k").value = Math.min(40, limits.max_top_k);
    $("prompt").maxLength = limits.max_prompt_characters;
    const known = [..."ROMEO:"].every((character) => text.vocabulary.includes(character));
    $("prompt").value = known ? "ROMEO:" : "";
    $("prompt").placeholder = `any of its ${text.vocabulary.length} characters: ${[...text.vocabulary].map(shown).join("")}`;
    if (!text.attention_layers) {
      $("attention-note").textContent = "This model has no attention layers (a recurrent network): " +
        "it keeps what it read in its hidden state instead.";
    }
    body.ready = "1";
  } catch (error) {
    showError(error.message);
  }
}

start();
