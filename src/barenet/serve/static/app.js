// barenet serve: draw, send the drawing to /api/explain, show what comes back.
// Plain JavaScript, no libraries. The server does all the preprocessing (barenet's MNIST
// recipe) and returns the 28x28 image the network saw, which the page shows as it is.
// The pictures (pixel images in a colour map, the line charts) are drawn by paint.js, and the
// drawing is sent as a greyscale PNG made by png.js; both are loaded first.
"use strict";

const UPDATE_MS = 120;     // while the pen moves, ask the network at most this often
const PEN_WIDTH = 24;      // on the 336 px canvas: about MNIST's stroke width once fitted to 20x20
const SEND_SIDE = 168;     // the drawing is sent at half size: plenty for 28x28, 4x less to preprocess

const $ = (id) => document.getElementById(id);
const drawCanvas = $("draw");
const pen = drawCanvas.getContext("2d");
const state = { strokes: [], current: null, upload: null, timer: null, busy: false, again: false, limit: 0 };

// ---- drawing ------------------------------------------------------------------------------

function canvasPoint(event) {
  const box = drawCanvas.getBoundingClientRect();
  return [(event.clientX - box.left) * drawCanvas.width / box.width,
          (event.clientY - box.top) * drawCanvas.height / box.height];
}

function redraw() {
  pen.fillStyle = "#fff";
  pen.fillRect(0, 0, drawCanvas.width, drawCanvas.height);
  if (state.upload && state.upload.image) {
    const { image } = state.upload;
    const scale = Math.min(drawCanvas.width / image.width, drawCanvas.height / image.height);
    const width = image.width * scale, height = image.height * scale;
    pen.drawImage(image, (drawCanvas.width - width) / 2, (drawCanvas.height - height) / 2, width, height);
  }
  pen.strokeStyle = "#000";
  pen.lineWidth = PEN_WIDTH;
  pen.lineCap = "round";
  pen.lineJoin = "round";
  for (const stroke of state.strokes) {
    pen.beginPath();
    pen.moveTo(...stroke[0]);
    for (const point of stroke) pen.lineTo(...point);
    pen.stroke();
  }
}

drawCanvas.addEventListener("pointerdown", (event) => {
  drawCanvas.setPointerCapture(event.pointerId);
  state.current = [canvasPoint(event)];
  state.strokes.push(state.current);
  redraw();
});
drawCanvas.addEventListener("pointermove", (event) => {
  if (!state.current) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const each of events.length ? events : [event]) state.current.push(canvasPoint(each));
  redraw();
  schedulePrediction();
});
function endStroke() {
  if (!state.current) return;
  state.current = null;
  clearTimeout(state.timer);
  state.timer = null;
  askNetwork();
}
drawCanvas.addEventListener("pointerup", endStroke);
drawCanvas.addEventListener("pointercancel", endStroke);

$("clear").addEventListener("click", () => {
  state.strokes = [];
  state.upload = null;
  $("upload").value = "";
  redraw();
  resetAnswer();
});
$("undo").addEventListener("click", () => {
  state.strokes.pop();
  redraw();
  if (state.strokes.length || state.upload) askNetwork(); else resetAnswer();
});
$("upload-button").addEventListener("click", () => $("upload").click());
$("upload").addEventListener("change", async () => {
  const file = $("upload").files[0];
  if (!file) return;
  if (state.limit && file.size > state.limit) {
    resetAnswer();
    showError(`${file.name} is ${file.size.toLocaleString()} bytes; the server takes at most ${state.limit.toLocaleString()}`);
    return;
  }
  state.strokes = [];
  try {
    state.upload = { file, image: await createImageBitmap(file) };
  } catch (error) {
    state.upload = { file, image: null };  // the server will say what is wrong with it
  }
  redraw();
  askNetwork();
});

// ---- asking the network -------------------------------------------------------------------

function schedulePrediction() {
  document.body.dataset.pending = "1";  // for tests and the curious: an answer is on its way
  if (state.timer) return;
  state.timer = setTimeout(() => { state.timer = null; askNetwork(); }, UPDATE_MS);
}

async function requestBody() {
  if (state.upload && !state.strokes.length) {  // the file as uploaded, untouched
    const form = new FormData();
    form.append("image", state.upload.file);
    return { body: form, headers: {} };
  }
  const small = document.createElement("canvas");
  small.width = small.height = SEND_SIDE;
  small.getContext("2d").drawImage(drawCanvas, 0, 0, SEND_SIDE, SEND_SIDE);
  const blob = typeof CompressionStream === "function" ? await greyPng(small)  // png.js: one byte a pixel
    : await new Promise((resolve) => small.toBlob(resolve, "image/png"));  // an older browser: RGBA
  return { body: blob, headers: { "Content-Type": "image/png" } };
}

async function askNetwork() {
  if (!state.strokes.length && !state.upload) { document.body.dataset.pending = "0"; return; }
  if (state.busy) { state.again = true; return; }  // one request at a time; the latest drawing wins
  state.busy = true;
  document.body.dataset.pending = "1";
  try {
    const { body, headers } = await requestBody();
    const response = await fetch("/api/explain", { method: "POST", body, headers });
    const answer = await response.json();
    if (!response.ok) {  // the answer shown belonged to something else: take it away
      resetAnswer();
      showError(answer.error || `the server answered ${response.status}`);
    } else if (state.strokes.length || state.upload) showAnswer(answer);
  } catch (error) {
    resetAnswer();
    showError(`no answer from the server (${error.message}); is barenet serve still running?`);
  } finally {
    state.busy = false;
    if (state.again) { state.again = false; askNetwork(); } else document.body.dataset.pending = "0";
  }
}

// ---- showing the answer -------------------------------------------------------------------

function showError(message) {
  $("status").textContent = message;
}

function resetAnswer() {
  $("status").textContent = "";
  showWarning("");
  $("predicted-label").textContent = "?";
  $("predicted-probability").textContent = "draw something";
  for (const bar of $("bars").querySelectorAll(".fill")) bar.style.width = "0%";
  for (const value of $("bars").querySelectorAll(".value")) value.textContent = "";
  for (const item of $("bars").children) item.classList.remove("top");
  for (const canvas of [$("preview"), $("saliency")]) blank(canvas);
  $("layers").replaceChildren();
}

function showWarning(text) {
  $("warning").textContent = text;
  $("warning").hidden = !text;
}

function showAnswer(answer) {
  $("status").textContent = "";
  showWarning(answer.warning || "");
  const top = answer.predicted;
  $("predicted-label").textContent = top.label;
  $("predicted-probability").textContent = `${(100 * top.probability).toFixed(1)} % sure`;
  answer.probabilities.forEach((probability, index) => {
    const item = $("bars").children[index];
    item.classList.toggle("top", index === top.index);
    item.querySelector(".fill").style.width = `${100 * probability}%`;
    item.querySelector(".value").textContent = `${(100 * probability).toFixed(1)}%`;
  });
  paint($("preview"), answer.image.flat(), 28, 28, (v) => gray(v / 255));
  const saliency = answer.saliency;
  const scale = saliency.max_abs || 1;
  paint($("saliency"), saliency.values.flat(), 28, 28, (v) => diverging(v / scale));
  $("saliency-caption").replaceChildren(
    `Which strokes decided "${saliency.label}": `, span("red", "up"), " pushed it up, ", span("blue", "down"),
    ` pushed it down. Shown: ${saliency.method}, from barenet's backward pass. The gradient alone is ` +
    "speckle over the whole square; times the ink it is each stroke pixel's share in the score.");
  showLayers(answer.layers);
  document.body.dataset.predictions = String(Number(document.body.dataset.predictions || 0) + 1);
}

function span(text, kind) {
  const element = document.createElement("span");
  element.className = kind;
  element.textContent = text;
  return element;
}

function showLayers(layers) {
  const figures = layers.map((layer) => {
    const figure = document.createElement("figure");
    figure.className = "layer";
    const colour = layer.min < 0 ? (v) => diverging(v / Math.max(-layer.min, layer.max, 1e-12))
                                 : (v) => heat(v / (layer.max || 1));
    let holder;
    if (layer.kind === "maps") {
      holder = document.createElement("div");
      holder.className = "maps";
      for (const map of layer.maps) {
        const height = map.length, width = map[0].length;
        holder.append(heatCanvas(map.flat(), width, height, colour, 72));
      }
    } else {
      const [rows, columns] = layer.grid;
      holder = heatCanvas(layer.values, columns, rows, colour, Math.min(320, 20 * columns));
    }
    const caption = document.createElement("figcaption");
    const what = layer.kind === "maps"
      ? `${layer.channels} feature maps ${layer.shape[1]}×${layer.shape[2]}` + (layer.channels > layer.maps.length ? `, first ${layer.maps.length} shown` : "")
      : `${layer.shape.reduce((a, b) => a * b, 1)} units`;
    caption.textContent = `layer ${layer.index} · ${layer.type} · ${what} (max ${layer.max.toFixed(2)})`;
    figure.append(holder, caption);
    return figure;
  });
  $("layers").replaceChildren(...figures);
}

// ---- the model and its run ----------------------------------------------------------------

async function getJSON(url) {
  const response = await fetch(url);
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || `${url}: ${response.status}`);
  return answer;
}

function buildBars(names) {
  $("bars").replaceChildren(...names.map((name) => {
    const item = document.createElement("li");
    item.innerHTML = '<span class="label"></span><span class="track"><span class="fill"></span></span><span class="value"></span>';
    item.querySelector(".fill").style.display = "block";
    item.querySelector(".label").textContent = name;
    return item;
  }));
}

function showHistory(history) {
  const pairs = [["loss-chart", "loss"], ["accuracy-chart", "accuracy"]];
  for (const [id, metric] of pairs) {
    const series = [
      { name: `training ${metric}`, values: history[metric] || [], colour: "#0b57d0" },
      { name: `validation ${metric}`, values: history[`val_${metric}`] || [], colour: "#c62828", dashed: true },
    ].filter((s) => s.values.length);
    $(id).hidden = !series.length;
    if (series.length) lineChart($(id), metric, series);
  }
}

function showConfusion(confusion) {
  const { matrix, class_names: names } = confusion;
  $("confusion-block").hidden = false;
  $("confusion-title").textContent = `Confusion matrix: ${confusion.test_samples.toLocaleString()} ${confusion.dataset} ` +
    `test images, ${(100 * confusion.accuracy).toFixed(2)} % right`;
  const header = document.createElement("tr");
  header.append(cell("th", "true ↓ said →"), ...names.map((name) => cell("th", name)));
  const rows = matrix.map((counts, t) => {
    const row = document.createElement("tr");
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    row.append(cell("th", names[t]), ...counts.map((count, p) => {
      const td = cell("td", String(count));
      const share = count / total;
      td.style.background = t === p ? `rgba(10, 125, 50, ${0.15 + 0.6 * share})` : count ? `rgba(198, 40, 40, ${Math.min(0.8, 0.12 + 4 * share)})` : "#fff";
      td.dataset.true = t;
      td.dataset.predicted = p;
      td.addEventListener("click", () => showCell(td, t, p, names));
      return td;
    }));
    return row;
  });
  $("confusion").replaceChildren(header, ...rows);
}

function cell(kind, text) {
  const element = document.createElement(kind);
  element.textContent = text;
  return element;
}

async function showCell(td, t, p, names) {
  for (const other of $("confusion").querySelectorAll("td.selected")) other.classList.remove("selected");
  td.classList.add("selected");
  try {
    const answer = await getJSON(`/api/run/cell?true=${t}&predicted=${p}`);
    $("cell-title").textContent = `true ${names[t]}, said ${names[p]}: ${answer.count} test images` +
      (answer.count > answer.images.length ? ` (the ${answer.images.length} it was surest about)` : "");
    $("cell-images").replaceChildren(...answer.images.map((image) => {
      const figure = document.createElement("figure");
      const canvas = document.createElement("canvas");
      canvas.className = "pixels";
      canvas.width = 28;
      canvas.height = 28;
      paint(canvas, image.pixels, 28, 28, (v) => gray(v / 255));
      figure.append(canvas, cell("figcaption", `${names[t]}→${names[p]} ${(100 * image.probability).toFixed(0)}%`));
      return figure;
    }));
  } catch (error) {
    showError(error.message);
  }
}

async function start() {
  document.body.dataset.pending = "0";
  document.body.dataset.predictions = "0";
  redraw();
  blank($("preview"));
  blank($("saliency"));
  try {
    const model = await getJSON("/api/model");
    state.limit = model.limits.max_body_bytes;
    const sizes = [model.input_shape.join("×"), ...model.layers.filter((l) => l.parameters).map((l) => l.output_shape.join("×"))];
    $("model-line").textContent = `${model.source} · ${sizes.join(" → ")} · ${model.parameters.toLocaleString()} parameters`;
    buildBars(model.class_names);
    if (model.run) {
      const run = await getJSON("/api/run");
      $("run").hidden = false;
      $("run-title").textContent = `How it learned: run ${run.folder}`;
      $("run-notes").textContent = run.notes.join(" · ");
      if (run.history) showHistory(run.history); else $("run").querySelector(".charts").hidden = true;
      if (run.confusion) showConfusion(run.confusion);
    }
    document.body.dataset.ready = "1";
  } catch (error) {
    showError(error.message);
  }
}

start();
