// Resolves the workspace's `@dh/*` imports inside the compiled `dist/` tree at run time.
const path = require('node:path');
const { register } = require('tsconfig-paths');
const { compilerOptions } = require('./tsconfig.base.json');

const paths = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([alias, [target]]) => [alias, [target.replace(/^\.\//, '').replace(/\.ts$/, '.js')]]),
);
register({ baseUrl: path.join(__dirname, 'dist'), paths });
