#!/usr/bin/env node
// Turns wasm-pack's output (target/viewer-pkg: rfb_viewer.js glue, .d.ts, .wasm) into the npm
// package `rfb-viewer` in client-wasm/pkg: the glue, the hand-written sources of
// client-wasm/js/ beside it, and package.json from client-wasm/js/package.json with the
// version, licence and repository of the Cargo workspace. A file is only rewritten when its
// bytes change and stale files are removed, so an unchanged viewer leaves client-wasm/pkg
// untouched (the `rfb` crate embeds that folder, and cargo rebuilds on any change of a
// file's time). Then it checks that what `npm pack` would ship is exactly the `files` list,
// and prints each file's size raw and gzipped. The last step of `npm run build:viewer`;
// no dependencies.
//
//   node scripts/package-viewer.mjs [--json FILE]   (FILE: the size report as JSON)
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import zlib from "node:zlib";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SOURCES = path.join(ROOT, "client-wasm/js");
const STAGE = path.join(ROOT, "target/viewer-pkg");
const PKG = path.join(ROOT, "client-wasm/pkg");
/** What wasm-pack writes and the package does not ship (`rfb_viewer_bg.wasm.d.ts` types
 * the raw wasm exports, which only the glue sees). */
const NOT_SHIPPED = new Set([".gitignore", "rfb_viewer_bg.wasm.d.ts"]);

const { values: opts } = parseArgs({ options: { json: { type: "string" } } });

function fail(message) {
  console.error(`package-viewer: ${message}`);
  process.exit(1);
}

/** `key = "value"` from one `[section]` of a TOML file (the plain strings we need). */
function tomlString(file, section, key) {
  const text = fs.readFileSync(file, "utf8");
  let current = null;
  for (const line of text.split("\n")) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) {
      current = header[1].trim();
      continue;
    }
    const entry = new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`).exec(line);
    if (entry && current === section) return entry[1];
  }
  return null;
}

/** The crate's field, or the workspace's when the crate says `field.workspace = true`. */
function cargoField(key) {
  const own = tomlString(path.join(ROOT, "client-wasm/Cargo.toml"), "package", key);
  if (own !== null) return own;
  const inherited = tomlString(path.join(ROOT, "Cargo.toml"), "workspace.package", key);
  if (inherited === null) fail(`no ${key} in client-wasm/Cargo.toml nor in [workspace.package]`);
  return inherited;
}

if (!fs.existsSync(path.join(STAGE, "rfb_viewer.js"))) {
  fail("target/viewer-pkg/rfb_viewer.js is missing: run wasm-pack first (npm run build:viewer)");
}

/** The package's files by name: wasm-pack's output (not its own package.json or README),
 * then the hand-written sources next to the glue. */
const wanted = new Map();
for (const name of fs.readdirSync(STAGE)) {
  if (name === "package.json" || name === "README.md") continue;
  if (!fs.statSync(path.join(STAGE, name)).isFile()) fail(`wasm-pack wrote a folder ${name}: handle it here`);
  wanted.set(name, fs.readFileSync(path.join(STAGE, name)));
}
const template = JSON.parse(fs.readFileSync(path.join(SOURCES, "package.json"), "utf8"));
for (const name of fs.readdirSync(SOURCES)) {
  if (name === "package.json") continue;
  wanted.set(name, fs.readFileSync(path.join(SOURCES, name)));
}

// package.json: the template, with what the Cargo workspace knows.
const manifest = {
  ...template,
  version: cargoField("version"),
  license: cargoField("license"),
  repository: { type: "git", url: cargoField("repository") },
};
wanted.set("package.json", Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));

// 1. client-wasm/pkg becomes exactly that, touching only what changed.
fs.mkdirSync(PKG, { recursive: true });
let written = 0;
for (const [name, bytes] of wanted) {
  const target = path.join(PKG, name);
  if (fs.existsSync(target) && fs.readFileSync(target).equals(bytes)) continue;
  fs.writeFileSync(target, bytes);
  written += 1;
}
for (const name of fs.readdirSync(PKG)) {
  if (!wanted.has(name)) {
    fs.rmSync(path.join(PKG, name), { recursive: true });
    written += 1;
  }
}

// 3. Everything listed exists, everything there is listed (a new glue file, e.g. a
// wasm-bindgen `snippets/` folder, must be added to the template's `files`).
const listed = new Set(manifest.files);
for (const file of listed) {
  if (!fs.existsSync(path.join(PKG, file))) fail(`files lists ${file}, which is not in client-wasm/pkg`);
}
for (const file of fs.readdirSync(PKG)) {
  if (!listed.has(file) && file !== "package.json" && !NOT_SHIPPED.has(file)) {
    fail(`client-wasm/pkg/${file} is not in client-wasm/js/package.json's files: ship it or list it as not shipped`);
  }
}

// 4. What npm would really pack (its own rules: README and package.json always, ignore
// files...) must be exactly that list.
const packed = JSON.parse(
  execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: PKG, encoding: "utf8" }),
)[0];
const packedFiles = packed.files.map((f) => f.path).sort();
const expected = [...listed, "package.json"].sort();
if (JSON.stringify(packedFiles) !== JSON.stringify(expected)) {
  fail(`npm pack would ship ${packedFiles.join(", ")}; expected ${expected.join(", ")}`);
}

// 5. Sizes.
const rows = packedFiles.map((file) => {
  const bytes = fs.readFileSync(path.join(PKG, file));
  return { file, raw: bytes.length, gzip: zlib.gzipSync(bytes, { level: 9 }).length };
});
const total = {
  file: "total",
  raw: rows.reduce((sum, r) => sum + r.raw, 0),
  gzip: rows.reduce((sum, r) => sum + r.gzip, 0),
};
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const width = Math.max(...rows.map((r) => r.file.length), 5);
const line = (r) => `  ${r.file.padEnd(width)}  ${kib(r.raw).padStart(10)}  ${kib(r.gzip).padStart(10)}`;
console.log(`rfb-viewer ${manifest.version} in client-wasm/pkg (${written} files changed; npm pack: ${kib(packed.size)} tarball, ${kib(packed.unpackedSize)} unpacked)`);
console.log(`  ${"file".padEnd(width)}  ${"raw".padStart(10)}  ${"gzip -9".padStart(10)}`);
for (const r of rows) console.log(line(r));
console.log(line(total));
// What a browser downloads: the code, not the declarations, README or manifest.
const runtime = rows.filter((r) => /\.(js|wasm)$/.test(r.file));
const loaded = {
  file: "runtime",
  raw: runtime.reduce((sum, r) => sum + r.raw, 0),
  gzip: runtime.reduce((sum, r) => sum + r.gzip, 0),
};
console.log(`${line(loaded)}  (.js + .wasm)`);
if (opts.json) {
  const report = { version: manifest.version, tarball: packed.size, unpacked: packed.unpackedSize, files: rows, total, runtime: loaded };
  fs.writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
}
