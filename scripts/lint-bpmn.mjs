#!/usr/bin/env node
// Lint every *.bpmn file below the given directories (default: processes/)
// with bpmnlint, using the project's .bpmnlintrc.
//
// Why a script instead of `bpmnlint processes/**/*.bpmn`: npm runs scripts
// with /bin/sh, which has no `**` globstar, so an unquoted glob silently
// matches only one directory level. Here we walk the tree ourselves and hand
// the explicit file list to the bpmnlint CLI with --max-warnings=0, so any
// error OR warning makes the command exit non-zero.
//
// Usage: node scripts/lint-bpmn.mjs [dir-or-file ...]
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function collect(target, out) {
  const st = statSync(target);
  if (st.isDirectory()) {
    for (const entry of readdirSync(target, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      collect(join(target, entry.name), out);
    }
  } else if (st.isFile() && target.toLowerCase().endsWith('.bpmn')) {
    out.push(target);
  }
  return out;
}

const targets = process.argv.slice(2);
if (targets.length === 0) targets.push('processes');

const files = [];
for (const t of targets) {
  const abs = resolve(root, t);
  if (!existsSync(abs)) {
    console.error(`lint-bpmn: ${t} does not exist`);
    process.exit(2);
  }
  collect(abs, files);
}
files.sort();

if (files.length === 0) {
  // Treat "nothing to lint" as a failure: it almost always means a wrong path.
  console.error(`lint-bpmn: no .bpmn files found under ${targets.join(', ')}`);
  process.exit(2);
}

const cli = join(dirname(require.resolve('bpmnlint/package.json')), 'bin', 'bpmnlint.js');
const rel = files.map(f => relative(root, f));
const result = spawnSync(process.execPath, [cli, '--max-warnings=0', ...rel], {
  cwd: root,
  stdio: 'inherit'
});

if (result.error) {
  console.error(`lint-bpmn: failed to run bpmnlint: ${result.error.message}`);
  process.exit(2);
}
if (result.status !== 0) {
  console.error(`lint-bpmn: bpmnlint reported problems (exit ${result.status}) in ${rel.length} file(s)`);
  process.exit(result.status || 1);
}
console.log(`lint-bpmn: ${rel.length} file(s) OK, 0 errors, 0 warnings:\n  ${rel.join('\n  ')}`);
