// Exit 0 when node_modules holds exactly the devDependencies pinned in package.json (so `npm ci`
// can be skipped), 1 otherwise. Used by CMakeLists.txt's e2e_npm_ci test.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
let ok = true;
for (const [name, spec] of Object.entries(pkg.devDependencies ?? {})) {
  const want = spec.startsWith('npm:') ? spec.slice(spec.lastIndexOf('@') + 1) : spec;
  try {
    const got = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
    if (got !== want) {
      console.error(`${name}: installed ${got}, pinned ${want}`);
      ok = false;
    }
  } catch {
    console.error(`${name}: not installed`);
    ok = false;
  }
}
process.exit(ok ? 0 : 1);
