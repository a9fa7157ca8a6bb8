#!/usr/bin/env node
// Copy the pre-built bpmn-js NavigatedViewer bundle and its CSS/fonts from
// node_modules into app/static/vendor/bpmn-js/ (no build step).
//
// Usage: npm install && npm run vendor
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

let pkgDir;
try {
  pkgDir = dirname(require.resolve('bpmn-js/package.json'));
} catch {
  console.error('vendor: bpmn-js is not installed; run `npm install` first');
  process.exit(1);
}
const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
const dist = join(pkgDir, 'dist');
const dest = join(root, 'app', 'static', 'vendor', 'bpmn-js');

// [source under bpmn-js/dist, target under app/static/vendor/bpmn-js]
const items = [
  ['bpmn-navigated-viewer.production.min.js', 'bpmn-navigated-viewer.production.min.js'],
  ['assets/bpmn-js.css', 'bpmn-js.css'],
  ['assets/diagram-js.css', 'diagram-js.css'],
  ['assets/bpmn-font', 'bpmn-font'] // whole folder: css/ + font/ (css uses ../font/ urls)
];

for (const [item] of items) {
  if (!existsSync(join(dist, item))) {
    console.error(`vendor: missing ${item} in ${relative(root, dist)}`);
    process.exit(1);
  }
}

rmSync(dest, { recursive: true, force: true });
mkdirSync(dest, { recursive: true });

for (const [item, target] of items) {
  cpSync(join(dist, item), join(dest, target), { recursive: true });
  console.log(`vendor: ${relative(root, join(dest, target))}`);
}

writeFileSync(join(dest, 'VERSION'), `bpmn-js ${version}\n`);
console.log(`vendor: bpmn-js ${version} -> ${relative(root, dest)}`);
