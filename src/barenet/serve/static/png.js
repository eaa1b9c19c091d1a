// barenet serve: a canvas as an 8-bit greyscale PNG, for app.js (loaded before it).
// A browser's canvas.toBlob gives an RGBA PNG: four bytes a pixel. A drawing is grey, so one
// byte a pixel says the same, and the server has a quarter of the data to inflate. The grey
// level is Pillow's own (ITU-R 601-2 luma, L = 0.299 R + 0.587 G + 0.114 B in 16-bit fixed
// point), so the server reads exactly the pixels it would read from the RGBA PNG.
// The file (PNG, RFC 2083): the signature, then the chunks IHDR (size and kind), IDAT (the
// rows, each led by filter byte 0 "none", deflated in zlib format by the browser's own
// CompressionStream) and IEND; a chunk is its length, its type, its data and their CRC-32.
"use strict";

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  chunk.set(new TextEncoder().encode(type), 4);
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  return chunk;
}

async function greyPng(canvas) {
  const { width, height } = canvas;
  const rgba = canvas.getContext("2d").getImageData(0, 0, width, height).data;
  const rows = new Uint8Array(height * (width + 1));  // filter byte 0, then the row's grey levels
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 4 * (y * width + x);  // the pixel's red, green, blue, alpha
      const luma = 19595 * rgba[i] + 38470 * rgba[i + 1] + 7471 * rgba[i + 2];  // in units of 1/65536
      rows[y * (width + 1) + 1 + x] = (luma + 0x8000) >>> 16;  // rounded to a whole grey level
    }
  }
  const zlib = new Blob([rows]).stream().pipeThrough(new CompressionStream("deflate"));
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 0, 0, 0, 0], 8);  // 8 bits a pixel, greyscale, deflate, filter set 0, not interlaced
  const deflated = new Uint8Array(await new Response(zlib).arrayBuffer());
  const chunks = [pngChunk("IHDR", header), pngChunk("IDAT", deflated), pngChunk("IEND", new Uint8Array(0))];
  return new Blob([new Uint8Array(PNG_SIGNATURE), ...chunks], { type: "image/png" });
}
