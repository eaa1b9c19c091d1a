// barenet serve: pictures on canvases, for app.js (loaded before it). Numbers in, pixels out:
// an image in a colour map, a blank square, a line chart. Plain functions of their arguments;
// nothing here reads the page or its state.
"use strict";

function heatCanvas(values, width, height, colour, displayWidth) {
  const canvas = document.createElement("canvas");
  canvas.className = "pixels activation";
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = `${displayWidth}px`;
  canvas.style.height = `${displayWidth * height / width}px`;
  paint(canvas, values, width, height, colour);
  return canvas;
}

function paint(canvas, values, width, height, colour) {
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = i < values.length ? colour(values[i]) : [200, 200, 200];  // grey: padding
    image.data.set([r, g, b, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
}

function blank(canvas) {
  const context = canvas.getContext("2d");
  context.fillStyle = "#000";
  context.fillRect(0, 0, canvas.width, canvas.height);
}

const clamp = (v) => Math.max(0, Math.min(1, v));
function gray(v) { const level = Math.round(255 * clamp(v)); return [level, level, level]; }
function heat(v) {  // black -> red -> yellow -> white, for activations >= 0
  v = clamp(v);
  return [Math.round(255 * clamp(3 * v)), Math.round(255 * clamp(3 * v - 1)), Math.round(255 * clamp(3 * v - 2))];
}
function diverging(v) {  // blue (negative) -> white (0) -> red (positive)
  v = Math.max(-1, Math.min(1, v));
  const fade = Math.round(255 * (1 - Math.abs(v)));
  return v >= 0 ? [255, fade, fade] : [fade, fade, 255];
}

function lineChart(canvas, title, series) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  const left = 70, right = 20, top = 44, bottom = 50;
  context.fillStyle = "#fff";
  context.fillRect(0, 0, width, height);
  context.fillStyle = "#111";
  context.font = "bold 24px system-ui, sans-serif";
  context.fillText(title, left, 30);
  const titleWidth = context.measureText(title).width;
  const values = series.flatMap((s) => s.values);
  if (!values.length) return;
  let low = Math.min(...values), high = Math.max(...values);
  if (high === low) { high += 1e-3; low -= 1e-3; }
  const epochs = Math.max(...series.map((s) => s.values.length));
  const x = (i) => left + (epochs > 1 ? i / (epochs - 1) : 0.5) * (width - left - right);
  const y = (v) => top + (1 - (v - low) / (high - low)) * (height - top - bottom);
  context.strokeStyle = "#999";
  context.lineWidth = 1;
  context.font = "18px system-ui, sans-serif";
  for (let k = 0; k <= 4; k++) {
    const v = low + (k / 4) * (high - low);
    context.beginPath(); context.moveTo(left, y(v)); context.lineTo(width - right, y(v)); context.stroke();
    context.fillText(v.toFixed(3), 4, y(v) + 6);
  }
  context.fillText(`epoch 1 … ${epochs}`, left, height - 14);
  series.forEach((s, n) => {
    context.strokeStyle = s.colour;
    context.lineWidth = 4;
    context.setLineDash(s.dashed ? [10, 6] : []);
    context.beginPath();
    s.values.forEach((v, i) => (i ? context.lineTo(x(i), y(v)) : context.moveTo(x(i), y(v))));
    context.stroke();
    context.setLineDash([]);
    context.fillStyle = s.colour;
    context.fillText(s.name, left + titleWidth + 30 + 210 * n, 30);
  });
}
