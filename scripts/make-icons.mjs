#!/usr/bin/env node
// Draws the app's icons into assets/ as PNGs, with nothing but zlib: the tray icon for each agent
// state (16 px and 32 px "@2x") and the 512 px app icon electron-builder turns into .icns/.ico.
// Shapes are signed-distance functions, anti-aliased by 4x4 supersampling. Deterministic: running
// it again rewrites identical files.  Usage: node scripts/make-icons.mjs
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ASSETS = join(ROOT, "assets");

// ---------------------------------------------------------------------------------------------
// PNG (RGBA, 8 bit, no interlace)

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(buffer) {
  let c = 0xffffffff;
  for (const byte of buffer) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** `pixels`: Uint8Array of size*size*4 RGBA (not premultiplied). */
export function encodePng(size, pixels) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  header[10] = 0;
  header[11] = 0;
  header[12] = 0;
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    Buffer.from(pixels.buffer, pixels.byteOffset + y * size * 4, size * 4).copy(raw, y * (size * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Drawing: a scene is a list of layers [sdf(x, y) -> distance (<0 inside), rgba]; coordinates are
// in 0..1 across the icon. Layers are composited in order with "over".

const SAMPLES = 4;

function render(size, layers) {
  const pixels = new Uint8Array(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0; // premultiplied accumulators over the samples
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const x = (px + (sx + 0.5) / SAMPLES) / size;
          const y = (py + (sy + 0.5) / SAMPLES) / size;
          let cr = 0, cg = 0, cb = 0, ca = 0;
          for (const [sdf, color] of layers) {
            if (sdf(x, y) > 0) continue;
            const [lr, lg, lb, la] = color;
            cr = lr * la + cr * (1 - la);
            cg = lg * la + cg * (1 - la);
            cb = lb * la + cb * (1 - la);
            ca = la + ca * (1 - la);
          }
          r += cr;
          g += cg;
          b += cb;
          a += ca;
        }
      }
      const n = SAMPLES * SAMPLES;
      const alpha = a / n;
      const i = (py * size + px) * 4;
      pixels[i] = alpha > 0 ? Math.round(r / n / alpha) : 0;
      pixels[i + 1] = alpha > 0 ? Math.round(g / n / alpha) : 0;
      pixels[i + 2] = alpha > 0 ? Math.round(b / n / alpha) : 0;
      pixels[i + 3] = Math.round(alpha * 255);
    }
  }
  return pixels;
}

const hex = (value, alpha = 1) => [parseInt(value.slice(1, 3), 16), parseInt(value.slice(3, 5), 16), parseInt(value.slice(5, 7), 16), alpha];

const circle = (cx, cy, radius) => (x, y) => Math.hypot(x - cx, y - cy) - radius;
const ring = (cx, cy, outer, inner) => (x, y) => {
  const d = Math.hypot(x - cx, y - cy);
  return Math.max(d - outer, inner - d);
};
const box = (cx, cy, hw, hh, radius = 0) => (x, y) => {
  const qx = Math.abs(x - cx) - hw + radius;
  const qy = Math.abs(y - cy) - hh + radius;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - radius;
};
/** Triangle pointing right, centred on (cx, cy). */
const play = (cx, cy, h) => (x, y) => {
  const left = cx - h * 0.42;
  const right = cx + h * 0.58;
  if (x < left) return left - x;
  const half = (h / 2) * (right - x) / (right - left);
  return Math.max(left - x, Math.abs(y - cy) - half);
};

const WHITE = hex("#ffffff");

/** Each state differs in colour and in glyph, so it reads without colour vision too. */
const TRAY = {
  stopped: [[ring(0.5, 0.5, 0.44, 0.31), hex("#8b929c")], [box(0.5, 0.5, 0.13, 0.13, 0.02), hex("#8b929c")]],
  waiting: [[circle(0.5, 0.5, 0.44), hex("#2f9e44")], [ring(0.5, 0.5, 0.2, 0.11), WHITE]],
  running: [[circle(0.5, 0.5, 0.44), hex("#2f6fde")], [play(0.5, 0.5, 0.4), WHITE]],
  stopping: [[circle(0.5, 0.5, 0.44), hex("#e08a00")], [box(0.39, 0.5, 0.055, 0.18), WHITE], [box(0.61, 0.5, 0.055, 0.18), WHITE]],
  error: [[circle(0.5, 0.5, 0.44), hex("#d9363e")], [box(0.5, 0.42, 0.055, 0.17, 0.03), WHITE], [circle(0.5, 0.71, 0.06), WHITE]],
};

/** The app icon: a signal head (the "semaphore") on a rounded square. */
const APP_ICON = [
  [box(0.5, 0.5, 0.44, 0.44, 0.1), hex("#18202b")],
  [box(0.5, 0.5, 0.17, 0.37, 0.17), hex("#0b0f15")],
  [circle(0.5, 0.25, 0.13), hex("#e5484d", 0.35)],
  [circle(0.5, 0.25, 0.095), hex("#e5484d")],
  [circle(0.5, 0.5, 0.13), hex("#f5a524", 0.35)],
  [circle(0.5, 0.5, 0.095), hex("#f5a524")],
  [circle(0.5, 0.75, 0.13), hex("#30c454", 0.35)],
  [circle(0.5, 0.75, 0.095), hex("#30c454")],
];

function write(path, size, layers) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, encodePng(size, render(size, layers)));
  console.log(`${path.slice(ROOT.length + 1)} (${size}x${size})`);
}

for (const [state, layers] of Object.entries(TRAY)) {
  write(join(ASSETS, "tray", `${state}.png`), 16, layers);
  write(join(ASSETS, "tray", `${state}@2x.png`), 32, layers);
}
write(join(ASSETS, "icon.png"), 512, APP_ICON);
